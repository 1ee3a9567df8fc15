/**
 * POST /v1/chat/completions: messages rendered with the model's chat
 * template, or the router's built-in one for a model without one
 * (chat-template.ts), and generated as that prompt.
 *
 *   non-stream: {id: "chatcmpl-…", object: "chat.completion", created, model,
 *                choices: [{index: 0, message: {role: "assistant", content},
 *                           finish_reason, logprobs}], usage}
 *   stream:     {object: "chat.completion.chunk", choices: [{index: 0,
 *                delta: {role: "assistant", content: ""}, logprobs: null,
 *                finish_reason: null}]} first, then {delta: {content}} per text
 *               delta, then {delta: {}, finish_reason}, then (with
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
import { refuseUnsupportedCommon, toGenerateRequest } from "./generate-request.js";
import { collectGeneration, finishReasonOf, Generation, nowSeconds, responseId, usageOf, type OpenAiUsage } from "./generation.js";
import { chatLogprobs } from "./logprobs.js";
import { OpenAiError } from "./openai-error.js";
import { ChatCompletionRequestSchema, type ChatCompletionRequest } from "./openai-types.js";
import { parseRequest } from "./parse-request.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";
import { streamGeneration, type StreamFrames } from "./stream-generation.js";
import { defaultRenameField, toHttpError, type RenameField } from "./to-http-error.js";
import { tokenizerFor } from "./tokenizer-for.js";

export const CHAT_COMPLETION_ID_PREFIX = "chatcmpl-";

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
  const body = parseRequest(ChatCompletionRequestSchema, await ctx.readJson());
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
  const request = toGenerateRequest(body, {
    prompt,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    logprobs: wantLogprobs ? (body.top_logprobs ?? 0) : undefined,
    responseId: id,
  });
  let generation: Generation;
  try {
    generation = await Generation.open(ctx.pipeline.generate(request, tenant, ctx.signal, { operation: "chat", inputMessages: () => chatInputMessages(body.messages) }));
  } catch (err) {
    throw toHttpError(err, renameField);
  }

  const created = nowSeconds();
  const tokenizer = wantLogprobs ? tokenizerFor(ctx.pipeline, body.model) : undefined;
  const logprobsOf = (entries: readonly inferencev1.TokenLogprob[]) => (wantLogprobs ? chatLogprobs(tokenizer, entries) : null);
  try {
    if (body.stream === true) {
      const head = { id, object: "chat.completion.chunk", created, model: body.model };
      await streamGeneration(ctx, generation, chatFrames(head, logprobsOf), { includeUsage: body.stream_options?.include_usage === true, renameField });
      return;
    }
    const result = await collectGeneration(generation);
    sendJson(ctx.res, 200, {
      id,
      object: "chat.completion",
      created,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: result.text }, finish_reason: finishReasonOf(result.finish), logprobs: logprobsOf(result.logprobs) }],
      usage: usageOf(result.finish),
    });
  } catch (err) {
    throw toHttpError(err, renameField);
  } finally {
    await generation.close();
  }
}

function chatFrames(
  head: { id: string; object: string; created: number; model: string },
  logprobsOf: (entries: readonly inferencev1.TokenLogprob[]) => object | null,
): StreamFrames {
  return {
    opening: () => ({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }),
    delta: (text, entries) => ({ ...head, choices: [{ index: 0, delta: { content: text }, logprobs: logprobsOf(entries), finish_reason: null }] }),
    // Logprobs of tokens that produced no text (an unfinished character at the end) still belong to the response.
    finish: (reason, entries) => ({ ...head, choices: [{ index: 0, delta: {}, logprobs: entries.length > 0 ? logprobsOf(entries) : null, finish_reason: reason }] }),
    usage: (usage: OpenAiUsage) => ({ ...head, choices: [], usage }),
  };
}
