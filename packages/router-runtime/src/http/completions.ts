/**
 * POST /v1/completions: one prompt (text, or token ids used as given), one
 * choice, streamed or not.
 *
 *   non-stream: {id: "cmpl-…", object: "text_completion", created, model,
 *                choices: [{index: 0, text, finish_reason, logprobs}], usage}
 *   stream:     frames {id, object: "text_completion", created, model,
 *                choices: [{index: 0, text, finish_reason: null, logprobs}]},
 *               then one with text "" and the finish_reason, then (with
 *               include_usage) {choices: [], usage}, then [DONE].
 *
 * `logprobs: N` asks for the chosen token's logprob plus N alternatives per
 * token, in the legacy completions shape (logprobs.ts).
 */
import { randomUUID } from "node:crypto";
import type { inferencev1 } from "@sigmaserve/proto";
import { toGenerateRequest, refuseUnsupportedCommon, type Prompt } from "./generate-request.js";
import { collectGeneration, finishReasonOf, Generation, nowSeconds, responseId, usageOf, type OpenAiFinishReason, type OpenAiUsage } from "./generation.js";
import { CompletionLogprobsBuilder } from "./logprobs.js";
import { OpenAiError } from "./openai-error.js";
import { CompletionRequestSchema, type CompletionRequest } from "./openai-types.js";
import { parseRequest } from "./parse-request.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";
import { streamGeneration, type StreamFrames } from "./stream-generation.js";
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
  if (body.echo === true) throw OpenAiError.invalid("echo", "echo: is not supported", "unsupported_parameter");
  if (body.suffix != null && body.suffix !== "") throw OpenAiError.invalid("suffix", "suffix: is not supported", "unsupported_parameter");
  if (body.best_of != null && body.best_of !== 1) throw OpenAiError.invalid("best_of", "best_of: only 1 is supported", "unsupported_parameter");
}

function promptOf(prompt: CompletionRequest["prompt"]): Prompt {
  return typeof prompt === "string" ? { case: "text", value: prompt } : { case: "tokenIds", value: { ids: prompt } };
}

export async function handleCompletions(ctx: RequestContext): Promise<void> {
  const tenant = ctx.authenticate();
  const raw = await ctx.readJson();
  refuseUnsupported(raw);
  const body = parseRequest(CompletionRequestSchema, raw);
  refuseUnsupported(raw, body);

  const id = responseId(COMPLETION_ID_PREFIX, randomUUID());
  const request = toGenerateRequest(body, { prompt: promptOf(body.prompt), maxTokens: body.max_tokens, logprobs: body.logprobs ?? undefined, responseId: id });
  const renameField = defaultRenameField;
  let generation: Generation;
  try {
    generation = await Generation.open(ctx.pipeline.generate(request, tenant, ctx.signal));
  } catch (err) {
    throw toHttpError(err, renameField);
  }

  const head = { id, object: "text_completion", created: nowSeconds(), model: body.model };
  const logprobs = body.logprobs == null ? undefined : new CompletionLogprobsBuilder(tokenizerFor(ctx.pipeline, body.model));
  try {
    if (body.stream === true) {
      await streamGeneration(ctx, generation, completionFrames(head, logprobs), { includeUsage: body.stream_options?.include_usage === true, renameField });
      return;
    }
    const result = await collectGeneration(generation);
    sendJson(ctx.res, 200, {
      ...head,
      choices: [{ index: 0, text: result.text, finish_reason: finishReasonOf(result.finish), logprobs: logprobs?.build(result.logprobs) ?? null }],
      usage: usageOf(result.finish),
    });
  } catch (err) {
    throw toHttpError(err, renameField);
  } finally {
    await generation.close();
  }
}

function completionFrames(head: { id: string; object: string; created: number; model: string }, logprobs: CompletionLogprobsBuilder | undefined): StreamFrames {
  const choice = (text: string, reason: OpenAiFinishReason, entries: readonly inferencev1.TokenLogprob[]) => ({
    ...head,
    choices: [{ index: 0, text, finish_reason: reason, logprobs: logprobs?.build(entries) ?? null }],
  });
  return {
    delta: (text, entries) => choice(text, null, entries),
    // Logprobs of tokens that produced no text (an unfinished character at the end) ride on the last frame.
    finish: (reason, entries) => ({ ...head, choices: [{ index: 0, text: "", finish_reason: reason, logprobs: entries.length > 0 ? (logprobs?.build(entries) ?? null) : null }] }),
    usage: (usage: OpenAiUsage) => ({ ...head, choices: [], usage }),
  };
}
