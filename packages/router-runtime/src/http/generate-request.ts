/**
 * OpenAI request fields → the cluster's `inferencev1.GenerateRequest`, the
 * same message the gRPC door receives, so both doors share normalization,
 * admission and routing in RequestPipeline. Each endpoint supplies the prompt
 * (text or token ids), its max-tokens field and its logprobs count; the
 * rest of sampling maps one to one:
 *
 *   max_tokens → sampling.max_tokens     temperature → sampling.temperature
 *   top_p → sampling.top_p               top_k → sampling.top_k (-1 = 0 = off)
 *   seed → sampling.seed (bigint)        stop → sampling.stop (a string becomes [string])
 *   ignore_eos → sampling.ignore_eos     priority → priority
 *   min_tokens → sampling.min_tokens     repetition_penalty → sampling.repetition_penalty
 *   min_p → sampling.min_p               stop_token_ids → sampling.stop_token_ids
 *   include_stop_str_in_output → sampling.include_stop_str_in_output
 *   skip_special_tokens → sampling.skip_special_tokens (null: unset, true)
 *
 * Fields this server does not implement are refused with a 400 naming them
 * when they would change the output (a client that asks for n = 2 must not
 * silently get one choice).
 */
import { create } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import { OpenAiError } from "./openai-error.js";
import type { CommonRequest } from "./openai-types.js";

export type Prompt = { case: "text"; value: string } | { case: "tokenIds"; value: { ids: number[] } };

export interface GenerateRequestParts {
  prompt: Prompt;
  /** The endpoint's max-tokens field, already resolved (chat: max_completion_tokens ?? max_tokens). */
  maxTokens: number | null | undefined;
  /** Top alternatives per token, or undefined for no logprobs. */
  logprobs: number | undefined;
  /** The response id (`cmpl-…`), sent as client_request_id so router logs and GenerateFinish carry it. */
  responseId: string;
}

function unsupported(param: string, rule: string): OpenAiError {
  return OpenAiError.invalid(param, `${param}: ${rule}`, "unsupported_parameter");
}

/** Refuses the common fields this server accepts in the schema but does not implement. */
export function refuseUnsupportedCommon(body: CommonRequest): void {
  if (body.n != null && body.n !== 1) throw unsupported("n", `only 1 choice per request is supported, got ${body.n}; send ${body.n} requests with different seeds instead`);
  if (body.presence_penalty != null && body.presence_penalty !== 0) throw unsupported("presence_penalty", "is not supported (only 0)");
  if (body.frequency_penalty != null && body.frequency_penalty !== 0) throw unsupported("frequency_penalty", "is not supported (only 0)");
  if (body.logit_bias != null && Object.keys(body.logit_bias).length > 0) throw unsupported("logit_bias", "is not supported");
  if (body.stream_options != null && body.stream !== true) throw OpenAiError.invalid("stream_options", "stream_options: is only allowed when stream is true");
}

export function toGenerateRequest(body: CommonRequest, parts: GenerateRequestParts): inferencev1.GenerateRequest {
  return create(inferencev1.GenerateRequestSchema, {
    model: body.model,
    prompt: parts.prompt,
    sampling: {
      ...(parts.maxTokens == null ? {} : { maxTokens: parts.maxTokens }),
      ...(body.temperature == null ? {} : { temperature: body.temperature }),
      ...(body.top_p == null ? {} : { topP: body.top_p }),
      topK: body.top_k == null || body.top_k < 0 ? 0 : body.top_k,
      ...(body.seed == null ? {} : { seed: BigInt(body.seed) }),
      stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
      ...(parts.logprobs === undefined ? {} : { logprobs: parts.logprobs }),
      ignoreEos: body.ignore_eos ?? false,
      minTokens: body.min_tokens ?? 0,
      ...(body.repetition_penalty == null ? {} : { repetitionPenalty: body.repetition_penalty }),
      minP: body.min_p ?? 0,
      stopTokenIds: body.stop_token_ids ?? [],
      includeStopStrInOutput: body.include_stop_str_in_output ?? false,
      ...(body.skip_special_tokens == null ? {} : { skipSpecialTokens: body.skip_special_tokens }),
    },
    clientRequestId: parts.responseId,
    priority: body.priority ?? 0,
  });
}
