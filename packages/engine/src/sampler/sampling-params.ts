/**
 * Sampling parameters as the engine uses them: every field resolved to a
 * value, validated once, frozen. The worker maps the proto's `SamplingParams`
 * (where unset fields and zeros mean defaults) to `SamplingParamsInput` and
 * calls `resolveSamplingParams` before admitting the request; from then on
 * the sampler and the stop checker trust the object. Errors name the field
 * the way the user wrote it (`sampling.top_p`, proto snake_case) and the rule
 * it broke, so the edge can return them as INVALID_ARGUMENT unchanged.
 */
import { SamplingParamsError } from "./errors.js";

/** Tokens generated when the request leaves max_tokens at 0 or unset (OpenAI completions' default). */
export const DEFAULT_MAX_TOKENS = 16;
/** Softmax temperature when unset. */
export const DEFAULT_TEMPERATURE = 1;
/** Nucleus mass when unset: 1 keeps every token (off). */
export const DEFAULT_TOP_P = 1;
/** Most stop strings one request may carry (proto contract). */
export const MAX_STOP_STRINGS = 16;
/** Most alternatives per step for logprobs (proto contract). */
export const MAX_LOGPROBS = 20;
/** Repetition penalty when unset: 1 leaves every logit as it is (off). */
export const DEFAULT_REPETITION_PENALTY = 1;
/** The largest finite float32: the wire type of the float fields. */
const FLOAT32_MAX = 3.4028234663852886e38;

const U32_MAX = 0xffff_ffff;
const U64_LIMIT = 1n << 64n;

/** Resolved sampling parameters of one request. */
export interface SamplingParams {
  /**
   * Most tokens to generate, >= 1 (the stop token, if any, counts); 0 only for a scoring request
   * (promptLogprobs set): the prompt is computed, nothing is sampled.
   */
  readonly maxTokens: number;
  /** Softmax temperature; exactly 0 is greedy (argmax). */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 is off. */
  readonly topP: number;
  /** Keep the topK most likely tokens; 0 (or >= vocab size) is off. */
  readonly topK: number;
  /** Seed of the request's PRNG, a u64 (see request-rng.ts). */
  readonly seed: bigint;
  /** Stop strings, each non-empty, at most MAX_STOP_STRINGS. */
  readonly stop: readonly string[];
  /** Token ids that end generation when sampled; each inside the vocabulary. */
  readonly stopTokenIds: readonly number[];
  /** undefined: no logprobs; N: the chosen token's logprob plus the N best alternatives. */
  readonly logprobs: number | undefined;
  /** undefined: no prompt logprobs; N: each prompt token's logprob after the first, plus the N best alternatives at its position. */
  readonly promptLogprobs: number | undefined;
  /** Keep generating past EOS (stop token ids still stop). */
  readonly ignoreEos: boolean;
  /** Fewest tokens before EOS, a stop token id or a stop string may end the request; 0 is off; capped at maxTokens. */
  readonly minTokens: number;
  /** HF/vLLM repetition penalty over the prompt's and output's token ids, > 0; 1 is off. */
  readonly repetitionPenalty: number;
  /** Keep tokens whose probability (after temperature) is >= minP × the best one's; in [0, 1]; 0 is off. */
  readonly minP: number;
  /** Keep a matched stop string (and a stop token's text) in the output; false cuts the output right before it. */
  readonly includeStopStrInOutput: boolean;
  /** Leave special tokens' text out of the output (the detokenizer's option). */
  readonly skipSpecialTokens: boolean;
}

/**
 * What the worker maps from the proto. Every field is optional; maxTokens 0 means the default, except with
 * promptLogprobs set, where it is a scoring request (maxTokens 0: nothing is sampled).
 */
export interface SamplingParamsInput {
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly seed?: bigint;
  readonly stop?: readonly string[];
  readonly stopTokenIds?: readonly number[];
  readonly logprobs?: number;
  readonly promptLogprobs?: number;
  readonly ignoreEos?: boolean;
  readonly minTokens?: number;
  readonly repetitionPenalty?: number;
  readonly minP?: number;
  readonly includeStopStrInOutput?: boolean;
  readonly skipSpecialTokens?: boolean;
}

/** What the server knows about this request that the parameters are checked against. */
export interface SamplingLimits {
  /** Most tokens this request may generate: the model context minus the prompt. */
  readonly maxTokensLimit: number;
  /** Model vocabulary size; token ids lie in [0, vocabSize). */
  readonly vocabSize: number;
  /** max_tokens when the request leaves it 0/unset; capped at maxTokensLimit. Default DEFAULT_MAX_TOKENS. */
  readonly defaultMaxTokens?: number;
  /** Draws the seed of a request that has none (reported back in GenerateFinish.seed); reduced to u64. */
  readonly drawSeed: () => bigint;
}

const field = (name: string): string => `sampling.${name}`;

function requireU32(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new SamplingParamsError(field(name), `must be an integer in [0, ${U32_MAX}], got ${value}`);
  }
  return value;
}

function resolveMaxTokens(input: number | undefined, limits: SamplingLimits): number {
  const requested = requireU32("max_tokens", input ?? 0);
  if (limits.maxTokensLimit < 1) {
    throw new SamplingParamsError(field("max_tokens"), `the prompt leaves no room to generate (limit ${limits.maxTokensLimit})`);
  }
  if (requested === 0) return Math.min(limits.defaultMaxTokens ?? DEFAULT_MAX_TOKENS, limits.maxTokensLimit);
  if (requested > limits.maxTokensLimit) {
    throw new SamplingParamsError(field("max_tokens"), `must be at most ${limits.maxTokensLimit}, got ${requested}`);
  }
  return requested;
}

function resolveTemperature(input: number | undefined): number {
  const value = input ?? DEFAULT_TEMPERATURE;
  if (!Number.isFinite(value)) throw new SamplingParamsError(field("temperature"), `must be a finite number, got ${value}`);
  if (value < 0) throw new SamplingParamsError(field("temperature"), `must be >= 0, got ${value}`);
  return value;
}

function resolveTopP(input: number | undefined): number {
  const value = input ?? DEFAULT_TOP_P;
  // NOTE: written as a negated range so that NaN fails too.
  if (!(value > 0 && value <= 1)) throw new SamplingParamsError(field("top_p"), `must be in (0, 1], got ${value}`);
  return value;
}

function resolveSeed(input: bigint | undefined, drawSeed: () => bigint): bigint {
  if (input === undefined) return BigInt.asUintN(64, drawSeed());
  if (typeof input !== "bigint" || input < 0n || input >= U64_LIMIT) {
    throw new SamplingParamsError(field("seed"), `must be an integer in [0, 2^64), got ${String(input)}`);
  }
  return input;
}

function resolveStop(input: readonly string[] | undefined): readonly string[] {
  const stop = input ?? [];
  if (stop.length > MAX_STOP_STRINGS) {
    throw new SamplingParamsError(field("stop"), `must hold at most ${MAX_STOP_STRINGS} strings, got ${stop.length}`);
  }
  stop.forEach((s, i) => {
    if (typeof s !== "string") throw new SamplingParamsError(field(`stop[${i}]`), `must be a string, got ${typeof s}`);
    // An empty stop string would match before the first token and end every request at once.
    if (s.length === 0) throw new SamplingParamsError(field(`stop[${i}]`), "must not be empty");
  });
  return Object.freeze([...stop]);
}

function resolveStopTokenIds(input: readonly number[] | undefined, vocabSize: number): readonly number[] {
  const ids = input ?? [];
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new SamplingParamsError(field(`stop_token_ids[${i}]`), `${id} is outside the vocabulary [0, ${vocabSize})`);
    }
  });
  return Object.freeze([...ids]);
}

function resolveLogprobs(input: number | undefined, name = "logprobs"): number | undefined {
  if (input === undefined) return undefined;
  requireU32(name, input);
  if (input > MAX_LOGPROBS) throw new SamplingParamsError(field(name), `must be at most ${MAX_LOGPROBS}, got ${input}`);
  return input;
}

/**
 * NOTE: a min_tokens above max_tokens is capped here, not refused. The public
 * rule (min_tokens <= max_tokens) is the router's; a worker also serves the
 * router's own cuts of a request, such as the prefill stage of a prefill/decode
 * split, which asks for max_tokens 1 with the request's min_tokens, and whose
 * one token must still not be EOS.
 */
function resolveMinTokens(input: number | undefined, maxTokens: number): number {
  return Math.min(requireU32("min_tokens", input ?? 0), maxTokens);
}

function resolveRepetitionPenalty(input: number | undefined): number {
  const value = input ?? DEFAULT_REPETITION_PENALTY;
  // NOTE: written as a negated range so that NaN fails too.
  if (!(value > 0 && value <= FLOAT32_MAX)) throw new SamplingParamsError(field("repetition_penalty"), `must be a finite number > 0, got ${value}`);
  return value;
}

function resolveMinP(input: number | undefined): number {
  const value = input ?? 0;
  if (!(value >= 0 && value <= 1)) throw new SamplingParamsError(field("min_p"), `must be in [0, 1], got ${value}`);
  return value;
}

function requireBoolean(name: string, value: boolean | undefined, fallback: boolean): boolean {
  const resolved = value ?? fallback;
  if (typeof resolved !== "boolean") throw new SamplingParamsError(field(name), `must be a boolean, got ${typeof resolved}`);
  return resolved;
}

/**
 * Validates `input` against the proto's rules and this request's `limits`,
 * fills the defaults, and returns a frozen `SamplingParams`. Throws
 * `SamplingParamsError` naming the first field that breaks a rule.
 */
export function resolveSamplingParams(input: SamplingParamsInput, limits: SamplingLimits): SamplingParams {
  if (!Number.isInteger(limits.vocabSize) || limits.vocabSize < 1) {
    throw new RangeError(`sampling limits: vocabSize must be a positive integer, got ${limits.vocabSize}`);
  }
  const ignoreEos = requireBoolean("ignore_eos", input.ignoreEos, false);
  const promptLogprobs = resolveLogprobs(input.promptLogprobs, "prompt_logprobs");
  // NOTE: max_tokens 0 with prompt_logprobs is a scoring request (lm-eval's loglikelihood, vLLM's echo with
  // max_tokens 0): the prompt is computed for its logprobs and no token is sampled.
  const maxTokens = input.maxTokens === 0 && promptLogprobs !== undefined ? 0 : resolveMaxTokens(input.maxTokens, limits);
  return Object.freeze({
    maxTokens,
    temperature: resolveTemperature(input.temperature),
    topP: resolveTopP(input.topP),
    topK: requireU32("top_k", input.topK ?? 0),
    seed: resolveSeed(input.seed, limits.drawSeed),
    stop: resolveStop(input.stop),
    stopTokenIds: resolveStopTokenIds(input.stopTokenIds, limits.vocabSize),
    logprobs: resolveLogprobs(input.logprobs),
    promptLogprobs,
    ignoreEos,
    minTokens: resolveMinTokens(input.minTokens, maxTokens),
    repetitionPenalty: resolveRepetitionPenalty(input.repetitionPenalty),
    minP: resolveMinP(input.minP),
    includeStopStrInOutput: requireBoolean("include_stop_str_in_output", input.includeStopStrInOutput, false),
    skipSpecialTokens: requireBoolean("skip_special_tokens", input.skipSpecialTokens, true),
  });
}
