/**
 * Turns a WorkerService.Generate request into a scheduler submission, or
 * throws a typed error naming the field and the rule. Nothing is queued or
 * allocated before the request passes, so a bad request costs nothing.
 */
import { resolveSamplingParams } from "@sigmaserve/engine";
import type { ModelConfig } from "@sigmaserve/model/config";
import type { workerv1 } from "@sigmaserve/proto";
import { randomBytes } from "node:crypto";
import { InvalidRequestError } from "../errors.js";
import type { SubmitRequest } from "../scheduler/engine-request.js";

/** Longest request id accepted, characters. */
export const MAX_REQUEST_ID_LENGTH = 256;

export interface GenerateLimits {
  modelId: string;
  config: ModelConfig;
  maxTokensLimit: number;
}

function checkTokenIds(field: string, ids: readonly number[], vocabSize: number): void {
  ids.forEach((id, i) => {
    if (id >= vocabSize) throw new InvalidRequestError(`${field}[${i}]`, `${id} is outside the vocabulary [0, ${vocabSize})`);
  });
}

export function validateGenerate(request: workerv1.GenerateRequest, limits: GenerateLimits): SubmitRequest {
  const { config } = limits;
  if (request.requestId === "") throw new InvalidRequestError("request_id", "must not be empty");
  if (request.requestId.length > MAX_REQUEST_ID_LENGTH) throw new InvalidRequestError("request_id", `must be at most ${MAX_REQUEST_ID_LENGTH} characters`);
  if (request.model !== limits.modelId) throw new InvalidRequestError("model", `unknown model "${request.model}"; this worker serves "${limits.modelId}"`);
  const prompt = request.promptTokenIds;
  if (prompt.length === 0) throw new InvalidRequestError("prompt_token_ids", "must not be empty");
  checkTokenIds("prompt_token_ids", prompt, config.vocab_size);
  checkTokenIds("generated_token_ids", request.generatedTokenIds, config.vocab_size);
  const context = config.max_position_embeddings;
  const known = prompt.length + request.generatedTokenIds.length;
  if (known >= context) {
    throw new InvalidRequestError("prompt_token_ids", `${prompt.length} prompt tokens${request.generatedTokenIds.length > 0 ? ` + ${request.generatedTokenIds.length} generated` : ""} leave no room in the context of ${context} tokens`);
  }
  const sampling = request.sampling;
  // The proto makes max_tokens optional: unset takes the default; an explicit 0 is a scoring request, which
  // needs prompt_logprobs (nothing else would come back), and a mistake otherwise.
  if (sampling?.maxTokens === 0 && sampling.promptLogprobs === undefined) {
    throw new InvalidRequestError("sampling.max_tokens", "must be at least 1, got 0 (0 is allowed only with sampling.prompt_logprobs set)");
  }
  const params = resolveSamplingParams(
    {
      ...(sampling?.maxTokens === undefined ? {} : { maxTokens: sampling.maxTokens }),
      ...(sampling?.temperature === undefined ? {} : { temperature: sampling.temperature }),
      ...(sampling?.topP === undefined ? {} : { topP: sampling.topP }),
      ...(sampling?.seed === undefined ? {} : { seed: sampling.seed }),
      ...(sampling?.logprobs === undefined ? {} : { logprobs: sampling.logprobs }),
      ...(sampling?.promptLogprobs === undefined ? {} : { promptLogprobs: sampling.promptLogprobs }),
      topK: sampling?.topK ?? 0,
      stop: sampling?.stop ?? [],
      stopTokenIds: sampling?.stopTokenIds ?? [],
      ignoreEos: sampling?.ignoreEos ?? false,
      minTokens: sampling?.minTokens ?? 0,
      ...(sampling?.repetitionPenalty === undefined ? {} : { repetitionPenalty: sampling.repetitionPenalty }),
      minP: sampling?.minP ?? 0,
      includeStopStrInOutput: sampling?.includeStopStrInOutput ?? false,
      ...(sampling?.skipSpecialTokens === undefined ? {} : { skipSpecialTokens: sampling.skipSpecialTokens }),
    },
    { maxTokensLimit: limits.maxTokensLimit, vocabSize: config.vocab_size, drawSeed: () => randomBytes(8).readBigUInt64LE() },
  );
  if (prompt.length + params.maxTokens > context) {
    throw new InvalidRequestError("sampling.max_tokens", `${params.maxTokens} plus the ${prompt.length} prompt tokens exceed the context of ${context} tokens`);
  }
  if (request.generatedTokenIds.length > params.maxTokens) {
    throw new InvalidRequestError("generated_token_ids", `${request.generatedTokenIds.length} replayed tokens exceed max_tokens (${params.maxTokens})`);
  }
  return {
    requestId: request.requestId,
    promptTokens: prompt,
    params,
    cacheSalt: request.cacheSalt,
    priority: request.priority,
    replayTokens: request.generatedTokenIds,
    replayText: request.generatedText,
    ...(request.arrivedAtUnixMs > 0n ? { arrivedAtUnixMs: Number(request.arrivedAtUnixMs) } : {}),
  };
}
