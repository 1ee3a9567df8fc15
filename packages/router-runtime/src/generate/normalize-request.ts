/**
 * Public GenerateRequest → the router's RoutedRequest: model checked, every
 * field checked against the rules (validate-request.ts), prompt tokenized
 * (text prompts get the tokenizer's special tokens, e.g. BOS) and checked
 * against the context, a seed drawn when the client gave none (so a failover
 * replay continues the same random stream), and the tenant's cache salt
 * attached. It runs before admission: a bad request never takes a queue slot
 * nor reaches a worker. The worker still checks what only it knows (its
 * max_tokens limit); its BadRequest reaches the client by public field names
 * (worker-fault.ts).
 */
import { create } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import { randomUUID } from "node:crypto";
import type { Tenant } from "../auth/api-keys.js";
import { InvalidRequestError, UnknownModelError } from "../errors.js";
import type { WorkerPool } from "../workers/worker-pool.js";
import type { RoutedRequest } from "./dispatcher.js";
import type { TokenizerRegistry } from "./model-tokenizers.js";
import { randomSeed } from "./random-seed.js";
import { contextViolations, requestViolations, type ModelLimits } from "./validate-request.js";

// The registry lives in model-tokenizers.ts (it fetches from workers); re-exported for existing importers.
export { TokenizerRegistry } from "./model-tokenizers.js";

export function checkModel(model: string, pool: WorkerPool): void {
  if (model === "") throw InvalidRequestError.of("model", "must not be empty");
  const models = pool.models();
  if (!models.includes(model)) throw new UnknownModelError(model, models);
}

/** The model's vocabulary and context from a worker that serves it (0 = unknown). */
export function modelLimits(model: string, pool: WorkerPool): ModelLimits {
  const summary = pool.list().find((w) => w.info.model?.id === model)?.info.model;
  return { vocabSize: summary?.vocabSize ?? 0, maxContextTokens: summary?.maxContextTokens ?? 0 };
}

export async function normalizeGenerate(request: inferencev1.GenerateRequest, tenant: Tenant, pool: WorkerPool, tokenizers: TokenizerRegistry): Promise<RoutedRequest> {
  checkModel(request.model, pool);
  const limits = modelLimits(request.model, pool);
  const violations = requestViolations(request, limits);
  if (violations.length > 0) throw new InvalidRequestError(violations);
  // requestViolations refused a request with no prompt.
  const prompt = request.prompt as Exclude<inferencev1.GenerateRequest["prompt"], { case: undefined }>;
  const promptTokens = prompt.case === "text" ? await tokenizers.encode(tokenizers.current(request.model, pool), prompt.value, limits, "text", { addSpecialTokens: true }) : [...prompt.value.ids];
  const context = contextViolations(promptTokens.length, request.sampling?.maxTokens, limits, prompt.case === "text" ? "text" : "token_ids");
  if (context.length > 0) throw new InvalidRequestError(context);
  const sampling = create(inferencev1.SamplingParamsSchema, request.sampling ?? {});
  sampling.seed ??= randomSeed();
  return {
    requestId: randomUUID(),
    clientRequestId: request.clientRequestId,
    model: request.model,
    promptTokens,
    sampling,
    cacheSalt: tenant.cacheSalt,
    priority: request.priority,
    arrivedAtMs: Date.now(),
    arrivedAtPerfMs: performance.now(),
  };
}
