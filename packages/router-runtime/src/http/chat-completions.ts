/**
 * POST /v1/chat/completions: messages rendered with the model's chat
 * template, or the router's built-in one for a model without one
 * (chat-template.ts), and generated as that prompt, `n` times (default 1,
 * each an independent sample: generate-request.ts).
 *
 *   non-stream: {id: "chatcmpl-…", object: "chat.completion", created, model,
 *                choices: [{index, message: {role: "assistant", content},
 *                           finish_reason, stop_reason, logprobs}], usage}
 *   stream:     {object: "chat.completion.chunk", choices: [{index,
 *                delta: {role: "assistant", content: ""}, logprobs: null,
 *                finish_reason: null}]} first for each choice, then
 *               {delta: {content}} per text delta, then per choice
 *               {delta: {}, finish_reason, stop_reason}, then (with
 *               include_usage) {choices: [], usage}, then [DONE].
 *
 * `logprobs: true` (with `top_logprobs: N` alternatives) returns logprobs in
 * chat's `{content: [...]}` shape; otherwise `logprobs` is null.
 *
 * NOTE: with neither max_completion_tokens nor max_tokens set, the worker's
 * default applies (16 tokens, as for completions), not "the rest of the
 * context" as OpenAI's chat does: a request that names no budget must not be
 * able to hold a worker for the whole context by accident.
 */
import { randomUUID } from "node:crypto";
import type { inferencev1 } from "@sigmaserve/proto";
import { chatInputMessages } from "../tracing/message-content.js";
import { chatPrompt } from "./chat-template.js";
import { refuseInertFields, refuseUnsupportedCommon, toGenerateRequest } from "./generate-request.js";
import { Choices, finishReasonOf, nowSeconds, responseId, stopReasonOf, usageOfChoices, type OpenAiUsage } from "./generation.js";
import { chatLogprobs } from "./logprobs.js";
import { OpenAiError } from "./openai-error.js";
import { ChatCompletionRequestSchema, type ChatCompletionRequest } from "./openai-types.js";
import { parseRequest } from "./parse-request.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";
import { streamGenerations, type StreamFrames } from "./stream-generation.js";
import { defaultRenameField, toHttpError, type RenameField } from "./to-http-error.js";
import { tokenizerFor } from "./tokenizer-for.js";

export const CHAT_COMPLETION_ID_PREFIX = "chatcmpl-";

/** The fields of openai 6.30.1's ChatCompletionCreateParams that have no effect here (REFUSED_FIELDS). */
const INERT_FIELDS = [
  "user",
  "metadata",
  "safety_identifier",
  "service_tier",
  "store",
  "prompt_cache_key",
  "prompt_cache_retention",
  "audio",
  "modalities",
  "prediction",
  "reasoning_effort",
  "verbosity",
  "web_search_options",
  "tool_choice",
  "parallel_tool_calls",
  "function_call",
  "functions",
] as const;

function refuseUnsupported(body: ChatCompletionRequest): void {
  refuseUnsupportedCommon(body);
  if (body.tools != null && body.tools.length > 0) throw OpenAiError.invalid("tools", "tools: tool calling is not supported", "unsupported_parameter");
  if (body.response_format != null && body.response_format.type !== "text") {
    throw OpenAiError.invalid("response_format", `response_format: only {"type": "text"} is supported, got "${body.response_format.type}"`, "unsupported_parameter");
  }
  if (body.top_logprobs != null && body.logprobs !== true) throw OpenAiError.invalid("top_logprobs", "top_logprobs: requires logprobs to be true");
}

/** The cluster's field names in this endpoint's words: the prompt is `messages`, the budget is whichever field the client used. */
function chatRenameField(body: ChatCompletionRequest): RenameField {
  return (field) => {
    const renamed = defaultRenameField(field);
    if (renamed?.startsWith("prompt") === true) return "messages";
    if (renamed === "max_tokens") return body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
    if (renamed === "logprobs") return "top_logprobs";
    return renamed;
  };
}

export async function handleChatCompletions(ctx: RequestContext): Promise<void> {
  const tenant = ctx.authenticate();
  const raw = await ctx.readJson();
  refuseInertFields(raw, INERT_FIELDS);
  const body = parseRequest(ChatCompletionRequestSchema, raw);
  refuseUnsupported(body);

  const id = responseId(CHAT_COMPLETION_ID_PREFIX, randomUUID());
  const wantLogprobs = body.logprobs === true;
  const renameField = chatRenameField(body);
  // The model's own chat template (from its workers) or the built-in one.
  let prompt: Awaited<ReturnType<typeof chatPrompt>>;
  try {
    prompt = await chatPrompt(ctx.pipeline.tokenizers, ctx.pipeline.pool, body.model, body.messages);
  } catch (err) {
    throw toHttpError(err, renameField);
  }
  const parts = {
    prompt,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    logprobs: wantLogprobs ? (body.top_logprobs ?? 0) : undefined,
    responseId: id,
  };
  const door = { operation: "chat" as const, inputMessages: () => chatInputMessages(body.messages.map((m) => ({ ...m, content: m.content ?? "" }))) };
  let choices: Choices;
  try {
    choices = await Choices.open(body.n ?? 1, ctx.signal, (choiceIndex, signal) => ctx.pipeline.generate(toGenerateRequest(body, { ...parts, choiceIndex }), tenant, signal, door));
  } catch (err) {
    throw toHttpError(err, renameField);
  }

  const created = nowSeconds();
  const tokenizer = wantLogprobs ? tokenizerFor(ctx.pipeline, body.model) : undefined;
  const logprobsOf = (entries: readonly inferencev1.TokenLogprob[]) => (wantLogprobs ? chatLogprobs(tokenizer, entries) : null);
  const stopTokenIds = body.stop_token_ids ?? [];
  try {
    if (body.stream === true) {
      const head = { id, object: "chat.completion.chunk", created, model: body.model };
      await streamGenerations(ctx, choices.generations, chatFrames(head, logprobsOf), {
        includeUsage: body.stream_options?.include_usage === true,
        renameField,
        stopTokenIds,
        cancel: () => choices.cancel(),
      });
      return;
    }
    const results = await choices.collect();
    sendJson(ctx.res, 200, {
      id,
      object: "chat.completion",
      created,
      model: body.model,
      choices: results.map((result, index) => ({
        index,
        message: { role: "assistant", content: result.text },
        finish_reason: finishReasonOf(result.finish),
        stop_reason: stopReasonOf(result.finish, stopTokenIds),
        logprobs: logprobsOf(result.logprobs),
      })),
      usage: usageOfChoices(results.map((result) => result.finish)),
    });
  } catch (err) {
    throw toHttpError(err, renameField);
  } finally {
    await choices.close();
  }
}

function chatFrames(
  head: { id: string; object: string; created: number; model: string },
  logprobsOf: (entries: readonly inferencev1.TokenLogprob[]) => object | null,
): StreamFrames {
  return {
    opening: (index) => ({ ...head, choices: [{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }),
    delta: (index, text, entries) => ({ ...head, choices: [{ index, delta: { content: text }, logprobs: logprobsOf(entries), finish_reason: null }] }),
    // Logprobs of tokens that produced no text (an unfinished character at the end) still belong to the response.
    finish: (index, reason, stopReason, entries) => ({
      ...head,
      choices: [{ index, delta: {}, logprobs: entries.length > 0 ? logprobsOf(entries) : null, finish_reason: reason, stop_reason: stopReason }],
    }),
    usage: (usage: OpenAiUsage) => ({ ...head, choices: [], usage }),
  };
}
