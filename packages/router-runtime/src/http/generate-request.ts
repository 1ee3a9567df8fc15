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
 * `n` samples are n GenerateRequests that differ only in their seed: with a
 * request seed, choice i gets seed + i (as vLLM's parallel sampling gives
 * each child request `seed + index`), so every choice is reproducible and
 * the choices differ; without one, each draws its own.
 *
 * Fields this server does not implement are refused with a 400 naming them
 * when they would change the output (a client that asks for
 * `response_format: json_object` must not silently get free text), and so
 * are the OpenAI fields that would have no effect here at all
 * (`REFUSED_FIELDS`): no field of OpenAI's request types is accepted and
 * ignored (http/openai-fields.test.ts enumerates them).
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
  /** The response id (`cmpl-…`), sent as client_request_id so router logs and GenerateFinish carry it (every choice's). */
  responseId: string;
  /** Which of the n choices this request samples (default 0): it offsets the request's seed. */
  choiceIndex?: number;
  /** Prompt log probabilities with this many alternatives (completions' echo), or undefined for none. */
  promptLogprobs?: number | undefined;
}

/** The most choices one request may ask for (`n`); each is one request through admission. */
export const MAX_CHOICES = 16;

/** A field's values that change nothing here, so they are accepted; any other value is refused. */
type Neutral = (value: unknown) => boolean;
const onlyNull: Neutral = () => false;
const emptyArray: Neutral = (value) => Array.isArray(value) && value.length === 0;

/**
 * OpenAI request fields (of openai 6.30.1's ChatCompletionCreateParams and
 * CompletionCreateParams) that have no effect in this server: refused with a
 * 400 naming them unless null or a value that asks for exactly what the
 * server does anyway (`store: false`, `modalities: ["text"]`,
 * `tool_choice: "none"`, empty `functions`). Metadata-only fields (`user`,
 * `metadata`, `safety_identifier`, `service_tier`, `prompt_cache_key`) are
 * refused too: a client that relies on them (per-user abuse tracking, a
 * priority tier, a stored completion) must learn that nothing happens.
 */
export const REFUSED_FIELDS: Readonly<Record<string, Neutral>> = {
  user: onlyNull,
  metadata: onlyNull,
  safety_identifier: onlyNull,
  service_tier: onlyNull,
  store: (value) => value === false,
  prompt_cache_key: onlyNull,
  prompt_cache_retention: onlyNull,
  audio: onlyNull,
  modalities: (value) => Array.isArray(value) && value.length === 1 && value[0] === "text",
  prediction: onlyNull,
  reasoning_effort: onlyNull,
  verbosity: onlyNull,
  web_search_options: onlyNull,
  tool_choice: (value) => value === "none",
  parallel_tool_calls: onlyNull,
  function_call: (value) => value === "none",
  functions: emptyArray,
};

/** Refuses the REFUSED_FIELDS among `names` that the raw body sets to something other than null or their neutral value. */
export function refuseInertFields(raw: unknown, names: readonly string[]): void {
  if (raw === null || typeof raw !== "object") return;
  for (const name of names) {
    const value = (raw as Record<string, unknown>)[name];
    if (value == null || REFUSED_FIELDS[name]!(value)) continue;
    throw unsupported(name, "is not supported by this server (it would have no effect here)");
  }
}

function unsupported(param: string, rule: string): OpenAiError {
  return OpenAiError.invalid(param, `${param}: ${rule}`, "unsupported_parameter");
}

/** Refuses the common fields this server accepts in the schema but does not implement. */
export function refuseUnsupportedCommon(body: CommonRequest): void {
  if (body.n != null && body.n > MAX_CHOICES) throw OpenAiError.invalid("n", `n: must be at most ${MAX_CHOICES}, got ${body.n}`);
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
      ...(body.seed == null ? {} : { seed: BigInt(body.seed) + BigInt(parts.choiceIndex ?? 0) }),
      stop: body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop,
      ...(parts.logprobs === undefined ? {} : { logprobs: parts.logprobs }),
      ...(parts.promptLogprobs === undefined ? {} : { promptLogprobs: parts.promptLogprobs }),
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
