/**
 * The sampler of @sigmaserve/engine: resolved sampling parameters, the
 * per-request PRNG that makes replay exact, the per-request logits processing
 * (min_tokens mask, repetition penalty), token selection from one logits
 * row (temperature, min-p, top-k, top-p), and the stop logic that decides
 * when a request ends and what text may be streamed. Pure and synchronous; no proto types (the worker maps them).
 */
export { NonFiniteLogitsError, SamplingParamsError, StopCheckerStateError } from "./errors.js";
export {
  DEFAULT_MAX_TOKENS,
  DEFAULT_REPETITION_PENALTY,
  DEFAULT_TEMPERATURE,
  DEFAULT_TOP_P,
  MAX_LOGPROBS,
  MAX_STOP_STRINGS,
  resolveSamplingParams,
  type SamplingLimits,
  type SamplingParams,
  type SamplingParamsInput,
} from "./sampling-params.js";
export { mix64, requestRandomU64, requestUniform } from "./request-rng.js";
export { argmax, sampleToken, type SampledToken, type SamplerParams } from "./sample-token.js";
export type { TokenLogprob } from "./top-logprobs.js";
export { promptTokenLogprob, type PromptTokenLogprob } from "./prompt-logprobs.js";
export { findStopString, partialStopLength, truncateAtStop, type StopMatch } from "./find-stop-string.js";
export { StopChecker, stopTokenIdsOf, type StopCheckerOptions, type StopDecision, type StopParams, type StopReason } from "./stop-checker.js";
export { LogitsProcessor } from "./logits-processor.js";
