/**
 * The endpoints vLLM's OpenAI server has beside the OpenAI ones, in its shapes,
 * so tools written against vLLM (benchmarks, lm-eval, load balancers) work:
 *
 *   GET  /health       200 with an empty body while the process answers (vLLM's liveness)
 *   GET  /version      {"version": "<sigmaserve version>"}
 *   POST /tokenize     {model, prompt, add_special_tokens?} → {count, max_model_len, tokens}
 *   POST /detokenize   {model, tokens} → {prompt}
 *
 * Tokenizing uses the model's tokenizer on this router, the one text prompts
 * get; /tokenize and /detokenize authenticate like the /v1 endpoints.
 * Chat `messages` on /tokenize are not supported yet and are refused by name.
 */
import { createRequire } from "node:module";
import { z } from "zod";
import { checkModel } from "../generate/normalize-request.js";
import { InvalidTokenIdError } from "@sigmaserve/model/tokenizer";
import { OpenAiError } from "./openai-error.js";
import { parseRequest } from "./parse-request.js";
import type { RequestContext } from "./request-context.js";
import { sendJson } from "./send-json.js";

/** The version this router reports: router-runtime's own package version. */
export const SIGMASERVE_VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

const U32_MAX = 2 ** 32 - 1;

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
  if (typeof raw === "object" && raw !== null && "messages" in raw) {
    throw OpenAiError.invalid("messages", "messages: chat messages are not supported on /tokenize yet; send the rendered prompt as prompt");
  }
  const body = parseRequest(TokenizeRequestSchema, raw);
  checkModel(body.model, ctx.pipeline.pool);
  const tokens = ctx.pipeline.tokenizers.get(body.model, ctx.pipeline.pool).encode(body.prompt, { addSpecialTokens: body.add_special_tokens ?? true });
  sendJson(ctx.res, 200, { count: tokens.length, max_model_len: maxModelLen(ctx, body.model), tokens });
}

export async function handleDetokenize(ctx: RequestContext): Promise<void> {
  ctx.authenticate();
  const body = parseRequest(DetokenizeRequestSchema, await ctx.readJson());
  checkModel(body.model, ctx.pipeline.pool);
  try {
    sendJson(ctx.res, 200, { prompt: ctx.pipeline.tokenizers.get(body.model, ctx.pipeline.pool).decode(body.tokens) });
  } catch (err) {
    if (err instanceof InvalidTokenIdError) throw OpenAiError.invalid("tokens", `tokens: ${err.message}`);
    throw err;
  }
}

function maxModelLen(ctx: RequestContext, model: string): number {
  return ctx.pipeline.listModels().find((m) => m.id === model)?.maxContextTokens ?? 0;
}
