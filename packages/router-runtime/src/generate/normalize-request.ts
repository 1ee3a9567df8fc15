/**
 * Public GenerateRequest → the router's RoutedRequest: model checked, prompt
 * tokenized (text prompts get the tokenizer's special tokens, e.g. BOS),
 * a seed drawn when the client gave none (so a failover replay continues the
 * same random stream), and the tenant's cache salt attached. The worker
 * checks the rest (vocabulary, context, sampling ranges) and its
 * INVALID_ARGUMENT reaches the client unchanged.
 */
import { create } from "@bufbuild/protobuf";
import { ByteTokenizer, type Tokenizer } from "@sigmaserve/model/tokenizer";
import { inferencev1 } from "@sigmaserve/proto";
import { randomUUID } from "node:crypto";
import type { Tenant } from "../auth/api-keys.js";
import { InvalidRequestError, UnknownModelError } from "../errors.js";
import type { WorkerPool } from "../workers/worker-pool.js";
import type { RoutedRequest } from "./generate-router.js";
import { randomSeed } from "./random-seed.js";

/** Longest client_request_id accepted, characters. */
export const MAX_CLIENT_REQUEST_ID_LENGTH = 128;

/** Tokenizers per model id. The demo model's byte tokenizer needs no files. */
export class TokenizerRegistry {
  private readonly byModel = new Map<string, Tokenizer>();

  set(model: string, tokenizer: Tokenizer): void {
    this.byModel.set(model, tokenizer);
  }

  /** The model's tokenizer; a worker that reports kind "byte" implies the built-in one. */
  get(model: string, pool: WorkerPool): Tokenizer {
    const known = this.byModel.get(model);
    if (known !== undefined) return known;
    const kind = pool.list().find((w) => w.info.model?.id === model)?.info.model?.tokenizer;
    if (kind === "byte") {
      const tokenizer = new ByteTokenizer();
      this.byModel.set(model, tokenizer);
      return tokenizer;
    }
    throw new InvalidRequestError("prompt.text", `model "${model}" has no tokenizer on this router; send prompt.token_ids, or start the router with --tokenizer DIR`);
  }
}

export function checkModel(model: string, pool: WorkerPool): void {
  if (model === "") throw new InvalidRequestError("model", "must not be empty");
  const models = pool.models();
  if (!models.includes(model)) throw new UnknownModelError(model, models);
}

export function normalizeGenerate(request: inferencev1.GenerateRequest, tenant: Tenant, pool: WorkerPool, tokenizers: TokenizerRegistry): RoutedRequest {
  checkModel(request.model, pool);
  if (request.clientRequestId.length > MAX_CLIENT_REQUEST_ID_LENGTH) {
    throw new InvalidRequestError("client_request_id", `must be at most ${MAX_CLIENT_REQUEST_ID_LENGTH} characters, got ${request.clientRequestId.length}`);
  }
  let promptTokens: number[];
  switch (request.prompt.case) {
    case "text":
      if (request.prompt.value === "") throw new InvalidRequestError("prompt.text", "must not be empty");
      promptTokens = tokenizers.get(request.model, pool).encode(request.prompt.value, { addSpecialTokens: true });
      break;
    case "tokenIds":
      if (request.prompt.value.ids.length === 0) throw new InvalidRequestError("prompt.token_ids", "must not be empty");
      promptTokens = [...request.prompt.value.ids];
      break;
    default:
      throw new InvalidRequestError("prompt", "set either text or token_ids");
  }
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
