/**
 * POST /v1/completions: one prompt (text, or token ids used as given), `n`
 * choices (default 1, each an independent sample: generate-request.ts),
 * streamed or not.
 *
 *   non-stream: {id: "cmpl-…", object: "text_completion", created, model,
 *                choices: [{index, text, finish_reason, stop_reason,
 *                logprobs}], usage}
 *   stream:     frames {id, object: "text_completion", created, model,
 *                choices: [{index, text, finish_reason: null, logprobs}]},
 *               then per choice one with text "", the finish_reason and the
 *               stop_reason, then (with include_usage) {choices: [], usage},
 *               then [DONE].
 *
 * `best_of` is accepted only equal to n (or unset): picking the best of more
 * samples is not implemented.
 *
 * `echo: true` (not streamed) puts the prompt's text before each choice's
 * text and, with `logprobs: N`, the prompt tokens' log probabilities before
 * the completion's (the worker's prompt_logprobs, N alternatives each; the
 * first token's logprob is null). `max_tokens: 0` is allowed only with echo:
 * the prompt is scored and nothing generated, which is what lm-eval's
 * loglikelihood asks an OpenAI-compatible server for. A text prompt is
 * echoed as sent; a token-id prompt as its decoded text.
 *
 * `logprobs: N` asks for the chosen token's logprob plus N alternatives per
 * token, in the legacy completions shape (logprobs.ts).
 */
import { randomUUID } from "node:crypto";
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import type { inferencev1 } from "@sigmaserve/proto";
import { refuseInertFields, refuseUnsupportedCommon, toGenerateRequest, type Prompt } from "./generate-request.js";
import { Choices, finishReasonOf, nowSeconds, responseId, stopReasonOf, usageOfChoices, type OpenAiUsage } from "./generation.js";
import { CompletionLogprobsBuilder } from "./logprobs.js";
import { OpenAiError } from "./openai-error.js";
import { CompletionRequestSchema, type CompletionRequest } from "./openai-types.js";
import { parseRequest } from "./parse-request.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";
import { streamGenerations, type StreamFrames } from "./stream-generation.js";
import { defaultRenameField, toHttpError } from "./to-http-error.js";
import { tokenizerFor } from "./tokenizer-for.js";

export const COMPLETION_ID_PREFIX = "cmpl-";

/** Refuses what the schema accepts but this endpoint does not implement. */
function refuseUnsupported(raw: unknown, body?: CompletionRequest): void {
  const prompt = (raw as { prompt?: unknown } | null)?.prompt;
  if (Array.isArray(prompt) && prompt.some((p) => typeof p !== "number")) {
    throw OpenAiError.invalid("prompt", "prompt: a list of prompts is not supported; send one prompt (a string or an array of token ids) per request", "unsupported_parameter");
  }
  if (body === undefined) return;
  refuseUnsupportedCommon(body);
  if (body.echo === true && body.stream === true) throw OpenAiError.invalid("echo", "echo: is not supported with stream: true (send the request without streaming)", "unsupported_parameter");
  if (body.max_tokens === 0 && body.echo !== true) throw OpenAiError.invalid("max_tokens", "max_tokens: must be at least 1 (0 is allowed only with echo: true, to score the prompt), got 0");
  if (body.suffix != null && body.suffix !== "") throw OpenAiError.invalid("suffix", "suffix: is not supported", "unsupported_parameter");
  const n = body.n ?? 1;
  if (body.best_of != null && body.best_of !== n) throw OpenAiError.invalid("best_of", `best_of: only best_of = n (${n}) is supported, got ${body.best_of}`, "unsupported_parameter");
}

/** The fields of openai 6.30.1's CompletionCreateParams that have no effect here (REFUSED_FIELDS): none today but `user`. */
const INERT_FIELDS = ["user"] as const;

function promptOf(prompt: CompletionRequest["prompt"]): Prompt {
  return typeof prompt === "string" ? { case: "text", value: prompt } : { case: "tokenIds", value: { ids: prompt } };
}

export async function handleCompletions(ctx: RequestContext): Promise<void> {
  const tenant = ctx.authenticate();
  const raw = await ctx.readJson();
  refuseUnsupported(raw);
  refuseInertFields(raw, INERT_FIELDS);
  const body = parseRequest(CompletionRequestSchema, raw);
  refuseUnsupported(raw, body);

  const id = responseId(COMPLETION_ID_PREFIX, randomUUID());
  const echo = body.echo === true;
  // A scoring request (max_tokens 0) must ask for prompt logprobs, or nothing would come back.
  const promptLogprobs = echo && (body.logprobs != null || body.max_tokens === 0) ? (body.logprobs ?? 0) : undefined;
  const parts = { prompt: promptOf(body.prompt), maxTokens: body.max_tokens, logprobs: body.logprobs ?? undefined, responseId: id, promptLogprobs };
  const renameField = defaultRenameField;
  let choices: Choices;
  try {
    choices = await Choices.open(body.n ?? 1, ctx.signal, (choiceIndex, signal) => ctx.pipeline.generate(toGenerateRequest(body, { ...parts, choiceIndex }), tenant, signal));
  } catch (err) {
    throw toHttpError(err, renameField);
  }

  const head = { id, object: "text_completion", created: nowSeconds(), model: body.model };
  const stopTokenIds = body.stop_token_ids ?? [];
  // One builder per choice: each keeps its own text offset.
  const tokenizer = body.logprobs == null ? undefined : tokenizerFor(ctx.pipeline, body.model);
  const logprobs = choices.generations.map(() => (body.logprobs == null ? undefined : new CompletionLogprobsBuilder(tokenizer)));
  try {
    if (body.stream === true) {
      await streamGenerations(ctx, choices.generations, completionFrames(head, logprobs), {
        includeUsage: body.stream_options?.include_usage === true,
        renameField,
        stopTokenIds,
        cancel: () => choices.cancel(),
      });
      return;
    }
    const results = await choices.collect();
    const echoed = echo ? echoText(body.prompt, tokenizer ?? tokenizerFor(ctx.pipeline, body.model)) : "";
    sendJson(ctx.res, 200, {
      ...head,
      choices: results.map((result, index) => ({
        index,
        text: echoed + result.text,
        finish_reason: finishReasonOf(result.finish),
        stop_reason: stopReasonOf(result.finish, stopTokenIds),
        logprobs: echo ? (logprobs[index]?.buildEcho(promptEntries(result.finish), result.logprobs) ?? null) : (logprobs[index]?.build(result.logprobs) ?? null),
      })),
      usage: usageOfChoices(results.map((result) => result.finish)),
    });
  } catch (err) {
    throw toHttpError(err, renameField);
  } finally {
    await choices.close();
  }
}

/** The echoed prompt: a text prompt as sent, token ids as their text. */
function echoText(prompt: CompletionRequest["prompt"], tokenizer: Tokenizer | undefined): string {
  if (typeof prompt === "string") return prompt;
  if (tokenizer === undefined) throw new OpenAiError(500, "echo: the router has no tokenizer to write the prompt's text", "server_error", null, "internal_error");
  return tokenizer.decode(prompt, { skipSpecialTokens: true });
}

/** The prompt's logprob entries of a finish; a worker that sent none when asked is a server fault, not an empty list. */
function promptEntries(finish: inferencev1.GenerateFinish): readonly inferencev1.TokenLogprob[] {
  const expected = finish.usage?.promptTokens ?? 0;
  if (finish.promptLogprobs.length !== expected) {
    throw new OpenAiError(500, `echo: the worker returned ${finish.promptLogprobs.length} prompt log probabilities for ${expected} prompt tokens`, "server_error", null, "internal_error");
  }
  return finish.promptLogprobs;
}

function completionFrames(head: { id: string; object: string; created: number; model: string }, logprobs: readonly (CompletionLogprobsBuilder | undefined)[]): StreamFrames {
  return {
    delta: (index, text, entries) => ({ ...head, choices: [{ index, text, finish_reason: null, logprobs: logprobs[index]?.build(entries) ?? null }] }),
    // Logprobs of tokens that produced no text (an unfinished character at the end) ride on the last frame.
    finish: (index, reason, stopReason, entries) => ({
      ...head,
      choices: [{ index, text: "", finish_reason: reason, stop_reason: stopReason, logprobs: entries.length > 0 ? (logprobs[index]?.build(entries) ?? null) : null }],
    }),
    usage: (usage: OpenAiUsage) => ({ ...head, choices: [], usage }),
  };
}
