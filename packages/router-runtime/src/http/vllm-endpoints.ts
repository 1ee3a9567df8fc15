/**
 * The endpoints vLLM's OpenAI server has beside the OpenAI ones, in its shapes,
 * so tools written against vLLM (benchmarks, lm-eval, load balancers) work:
 *
 *   GET  /health       200 with an empty body while the process answers (vLLM's liveness)
 *   GET  /version      {"version": "<sigmaserve version>"}
 *   POST /tokenize     {model, prompt, add_special_tokens?} or {model, messages} → {count, max_model_len, tokens}
 *   POST /detokenize   {model, tokens} → {prompt}
 *
 * Tokenizing uses the model's tokenizer on this router, the one text prompts
 * get, and `messages` go through the model's chat template exactly as on
 * /v1/chat/completions (generation prompt included); /tokenize and
 * /detokenize authenticate like the /v1 endpoints.
 */
import { createRequire } from "node:module";
import { z } from "zod";
import { checkModel, modelLimits } from "../generate/normalize-request.js";
import { InvalidTokenIdError } from "@sigmaserve/model/tokenizer";
import { OpenAiError } from "./openai-error.js";
import { parseRequest } from "./parse-request.js";
import { chatPrompt } from "./chat-template.js";
import { ChatMessageSchema } from "./openai-types.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";

/** The version this router reports: router-runtime's own package version. */
export const SIGMASERVE_VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

const U32_MAX = 2 ** 32 - 1;

const TokenizeChatRequestSchema = z.strictObject(
  {
    model: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
    messages: z.array(ChatMessageSchema, { error: "must be an array of messages" }).min(1, { error: "must hold at least one message" }),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `has fields this endpoint does not take: ${issue.keys.join(", ")}` : "must be a JSON object with model and messages") },
);

const TokenizeRequestSchema = z.strictObject(
  {
    model: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
    prompt: z.string({ error: "must be a string" }),
    add_special_tokens: z.boolean({ error: "must be true or false" }).nullish(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `has fields this endpoint does not take: ${issue.keys.join(", ")}` : "must be a JSON object with model and prompt") },
);

const DetokenizeRequestSchema = z.strictObject(
  {
    model: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
    tokens: z.array(z.number({ error: "must be a token id" }).int({ error: "must be an integer token id" }).min(0, { error: "must be >= 0" }).max(U32_MAX, { error: `must be <= ${U32_MAX}` }), {
      error: "must be an array of token ids",
    }),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `has fields this endpoint does not take: ${issue.keys.join(", ")}` : "must be a JSON object with model and tokens") },
);

export async function handleHealth(ctx: RequestContext): Promise<void> {
  ctx.res.writeHead(200, { "content-length": "0" });
  ctx.res.end();
}

export async function handleVersion(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, { version: SIGMASERVE_VERSION });
}

export async function handleTokenize(ctx: RequestContext): Promise<void> {
  ctx.authenticate();
  const raw = await ctx.readJson();
  let model: string;
  let tokens: number[];
  if (typeof raw === "object" && raw !== null && "messages" in raw) {
    const body = parseRequest(TokenizeChatRequestSchema, raw);
    model = body.model;
    const prompt = await chatPrompt(ctx.pipeline.tokenizers, ctx.pipeline.pool, model, body.messages);
    tokens = prompt.case === "tokenIds" ? [...prompt.value.ids] : await ctx.pipeline.tokenizers.encode(await ctx.pipeline.tokenizers.load(model, ctx.pipeline.pool), prompt.value, modelLimits(model, ctx.pipeline.pool), "messages", { addSpecialTokens: true });
  } else {
    const body = parseRequest(TokenizeRequestSchema, raw);
    model = body.model;
    checkModel(model, ctx.pipeline.pool);
    const loaded = await ctx.pipeline.tokenizers.load(model, ctx.pipeline.pool);
    tokens = await ctx.pipeline.tokenizers.encode(loaded, body.prompt, modelLimits(model, ctx.pipeline.pool), "prompt", { addSpecialTokens: body.add_special_tokens ?? true });
  }
  sendJson(ctx.res, 200, { count: tokens.length, max_model_len: maxModelLen(ctx, model), tokens });
}

export async function handleDetokenize(ctx: RequestContext): Promise<void> {
  ctx.authenticate();
  const body = parseRequest(DetokenizeRequestSchema, await ctx.readJson());
  checkModel(body.model, ctx.pipeline.pool);
  try {
    sendJson(ctx.res, 200, { prompt: (await ctx.pipeline.tokenizers.load(body.model, ctx.pipeline.pool)).tokenizer.decode(body.tokens) });
  } catch (err) {
    if (err instanceof InvalidTokenIdError) throw OpenAiError.invalid("tokens", `tokens: ${err.message}`);
    throw err;
  }
}

function maxModelLen(ctx: RequestContext, model: string): number {
  return ctx.pipeline.listModels().find((m) => m.id === model)?.maxContextTokens ?? 0;
}
