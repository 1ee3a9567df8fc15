/**
 * Picks one token from one logits row. The result is a pure function of
 * (logits, params, step): nothing depends on the batch, the thread or the
 * history of the request, so a replayed request samples what the original
 * did. A request's LogitsProcessor (min_tokens mask, repetition penalty),
 * when given, first turns the row into the one sampled from; it is a function
 * of the request's tokens, so this stays a pure function of the request.
 * Temperature 0 is argmax (ties: lowest id). Otherwise the steps run in
 * vLLM's order: logits / temperature → softmax (f64, shifted by the row maximum) →
 * min-p (keep the tokens whose probability is at least min_p times the best
 * one's: exp((logit − max) / T) >= min_p) → top-k (the k best; ties to the
 * lower id) → top-p (the smallest best-first prefix whose mass reaches top_p
 * of what min-p and top-k kept) → one inverse-CDF draw
 * with the request's uniform for this step (request-rng.ts). The draw walks
 * the kept tokens in ascending id order, a fixed order that makes the token a
 * function of the uniform alone. Renormalising is implicit: the draw scales
 * the uniform by the kept mass instead of dividing every probability.
 * Logprobs, when asked for, are raw (see top-logprobs.ts): of the model's
 * row, before the processor, temperature and every truncation (vLLM's
 * default raw_logprobs).
 *
 * Cost over a 128k vocabulary (measured here): greedy is one scan (~0.2 ms);
 * top-k is one comparison per token plus O(n log k) worst case, and exps only
 * for the k kept (~0.5 ms for k = 50); without top-k, one exp pass (~2 ms),
 * plus O(n + m log n) for a top-p nucleus of m tokens. Nothing sorts the
 * whole vocabulary. Logprobs add one exp pass unless temperature is 1 and
 * top-k is off. Scratch buffers live in this module and are reused
 * (sampleToken is synchronous, so no two calls overlap).
 */
import { NonFiniteLogitsError } from "./errors.js";
import type { LogitsProcessor } from "./logits-processor.js";
import { requestUniform } from "./request-rng.js";
import type { SamplingParams } from "./sampling-params.js";
import { TokenHeap, ranksBefore } from "./token-heap.js";
import { type TokenLogprob, logSumExp, topLogprobs } from "./top-logprobs.js";

/** Kept sets up to this many tokens are put in id order by sorting; larger ones by marking a mask and scanning the vocabulary. */
const ID_SORT_LIMIT = 4096;

/** The parameters the sampler reads. */
export type SamplerParams = Pick<SamplingParams, "temperature" | "topP" | "topK" | "seed" | "logprobs"> & Partial<Pick<SamplingParams, "minP">>;

/** One sampled token. Mutable so that a caller may pass the same object as `out` on every step. */
export interface SampledToken {
  tokenId: number;
  /** Raw logprob of tokenId; undefined unless params.logprobs is set (computing it costs a pass over the vocabulary). */
  logprob: number | undefined;
  /** The params.logprobs best tokens, best first; undefined unless params.logprobs is set. */
  topLogprobs?: TokenLogprob[] | undefined;
}

let probsScratch = new Float64Array(0);
let idsScratch = new Int32Array(0);
let maskScratch = new Uint8Array(0);

function ensureScratch(vocabSize: number): void {
  if (probsScratch.length >= vocabSize) return;
  probsScratch = new Float64Array(vocabSize);
  idsScratch = new Int32Array(vocabSize);
  maskScratch = new Uint8Array(vocabSize);
}

/**
 * Index of the largest logit, ties to the lowest id. Throws
 * `NonFiniteLogitsError` when the row holds NaN or +Inf or nothing above
 * -Inf: the model is broken, and no token choice would be honest.
 */
export function argmax(logits: Float32Array): number {
  let best = -1;
  let bestLogit = -Infinity;
  let sawNaN = false;
  for (let i = 0; i < logits.length; i++) {
    const logit = logits[i]!;
    if (logit > bestLogit) {
      bestLogit = logit;
      best = i;
    } else if (logit !== logit) {
      sawNaN = true;
    }
  }
  if (sawNaN || best < 0 || bestLogit === Infinity) {
    const what = sawNaN ? "holds NaN" : `has no finite maximum (max ${bestLogit})`;
    throw new NonFiniteLogitsError(`logits row of ${logits.length} ${what}`);
  }
  return best;
}

/**
 * Samples the token of generated position `step` (0-based within the
 * completion) from `logits` (one row, length = vocabulary size). Writes into
 * and returns `out` when given. `processor`: the request's LogitsProcessor,
 * applied for `step` generated tokens. Throws `NonFiniteLogitsError` for a
 * row with NaN, +Inf, or no value above -Inf (see argmax), before or after
 * the processor.
 */
export function sampleToken(logits: Float32Array, params: SamplerParams, step: number, out?: SampledToken, processor?: LogitsProcessor): SampledToken {
  const row = processor === undefined ? logits : processor.apply(logits, step);
  const minP = params.minP ?? 0;
  const maxId = argmax(row);
  const maxLogit = row[maxId]!;
  let tokenId = maxId;
  let logNormalizer: number | undefined;
  if (params.temperature > 0) {
    ensureScratch(row.length);
    const uniform = requestUniform(params.seed, step);
    if (params.topK > 0 && params.topK < row.length) {
      tokenId = drawTopK(row, params, minP, maxLogit, uniform);
    } else {
      const mass = softmaxIntoScratch(row, maxLogit, params.temperature, minP);
      tokenId = params.topP < 1 ? drawNucleus(row, params.topP, mass, uniform) : drawInIdOrder(probsScratch, row.length, uniform * mass);
      // At temperature 1 the scaled softmax of an untouched row is the raw one: reuse its sum.
      if (params.temperature === 1 && minP === 0 && row === logits && params.logprobs !== undefined) logNormalizer = maxLogit + Math.log(mass);
    }
  }
  const result = out ?? { tokenId, logprob: undefined };
  result.tokenId = tokenId;
  result.logprob = undefined;
  result.topLogprobs = undefined;
  if (params.logprobs !== undefined) {
    logNormalizer ??= logSumExp(logits, row === logits ? maxLogit : logits[argmax(logits)]!);
    result.logprob = logits[tokenId]! - logNormalizer;
    result.topLogprobs = topLogprobs(logits, params.logprobs, logNormalizer);
  }
  return result;
}

/**
 * Fills probsScratch[0 … n) with exp((logit − max) / temperature), 0 for a
 * token min-p drops (below minP: its probability is under minP times the best
 * one's, whose value here is exactly 1), and returns their sum (>= 1).
 */
function softmaxIntoScratch(logits: Float32Array, maxLogit: number, temperature: number, minP: number): number {
  const probs = probsScratch;
  let mass = 0;
  for (let i = 0; i < logits.length; i++) {
    let p = Math.exp((logits[i]! - maxLogit) / temperature);
    if (p < minP) p = 0;
    probs[i] = p;
    mass += p;
  }
  return mass;
}

/**
 * Top-k (then top-p over what it kept) and the draw. NOTE: the k best are
 * chosen on logits before any exp, so only the kept tokens' probabilities
 * are computed (probsScratch[id] for kept ids only): top-k 50 over 128k
 * tokens costs one comparison per token instead of one exp.
 */
function drawTopK(logits: Float32Array, params: SamplerParams, minP: number, maxLogit: number, uniform: number): number {
  const ids = idsScratch;
  const probs = probsScratch;
  let keptCount = params.topK;
  const heap = new TokenHeap(logits, ids, "worst");
  for (let id = 0; id < keptCount; id++) heap.push(id);
  // Ids arrive in ascending order, so a later id beats the worst kept one only with a strictly higher logit.
  let worstLogit = logits[heap.peek()]!;
  for (let id = keptCount; id < logits.length; id++) {
    if (logits[id]! > worstLogit) {
      heap.replaceTop(id);
      worstLogit = logits[heap.peek()]!;
    }
  }
  for (let i = 0; i < keptCount; i++) {
    const id = ids[i]!;
    probs[id] = Math.exp((logits[id]! - maxLogit) / params.temperature);
  }
  if (minP > 0) {
    // Min-p keeps a best-first prefix of the vocabulary, so on the k best it is a filter (vLLM applies it before top-k).
    let kept = 0;
    for (let i = 0; i < keptCount; i++) if (probs[ids[i]!]! >= minP) ids[kept++] = ids[i]!;
    keptCount = kept;
  }
  if (params.topP < 1) {
    const ranked = ids.subarray(0, keptCount).sort((a, b) => (ranksBefore(logits, a, b) ? -1 : 1));
    let keptMass = 0;
    for (const id of ranked) keptMass += probs[id]!;
    const target = params.topP * keptMass;
    let cumulative = 0;
    keptCount = 0;
    while (keptCount < ranked.length && cumulative < target) cumulative += probs[ranked[keptCount++]!]!;
  }
  return drawAmongKept(ids.subarray(0, keptCount), probs, uniform, logits.length);
}

/** Top-p over the whole vocabulary (probsScratch filled, `mass` its sum): pop best-first until the mass is reached, then draw. */
function drawNucleus(logits: Float32Array, topP: number, mass: number, uniform: number): number {
  const vocabSize = logits.length;
  const ids = idsScratch;
  const probs = probsScratch;
  for (let id = 0; id < vocabSize; id++) ids[id] = id;
  const heap = new TokenHeap(logits, ids, "best");
  heap.heapify(vocabSize);
  const target = topP * mass;
  let cumulative = 0;
  let keptCount = 0;
  while (heap.size > 0 && cumulative < target) {
    cumulative += probs[heap.pop()]!;
    keptCount++;
  }
  // Popped ids sit right after the heap's remaining slots (see TokenHeap.pop).
  return drawAmongKept(ids.subarray(heap.size, heap.size + keptCount), probs, uniform, vocabSize);
}

/** Inverse CDF over ids 0 … n−1: the first id whose running sum exceeds `target`. */
function drawInIdOrder(probs: Float64Array, vocabSize: number, target: number): number {
  let cumulative = 0;
  let lastPositive = 0;
  for (let id = 0; id < vocabSize; id++) {
    const p = probs[id]!;
    if (p === 0) continue;
    cumulative += p;
    if (cumulative > target) return id;
    lastPositive = id;
  }
  // NOTE: only reachable when uniform · mass rounds up to the mass itself.
  return lastPositive;
}

/**
 * Inverse CDF over the kept ids in ascending id order, scaled to their mass
 * (the renormalisation). Reads probs only at kept ids. Both ways of putting
 * the ids in order sum the same values in the same order, so the choice of
 * way never changes the token.
 */
function drawAmongKept(kept: Int32Array, probs: Float64Array, uniform: number, vocabSize: number): number {
  if (kept.length <= ID_SORT_LIMIT) {
    kept.sort();
    let keptMass = 0;
    for (const id of kept) keptMass += probs[id]!;
    const target = uniform * keptMass;
    let cumulative = 0;
    let lastPositive = kept[0]!;
    for (const id of kept) {
      const p = probs[id]!;
      if (p === 0) continue;
      cumulative += p;
      if (cumulative > target) return id;
      lastPositive = id;
    }
    return lastPositive;
  }
  // A large kept set: mark it in a mask rather than sort it (a typed-array sort of 128k ids costs ~10 ms).
  const mask = maskScratch;
  for (const id of kept) mask[id] = 1;
  let keptMass = 0;
  for (let id = 0; id < vocabSize; id++) if (mask[id] === 1) keptMass += probs[id]!;
  const target = uniform * keptMass;
  let cumulative = 0;
  let chosen = -1;
  let lastPositive = kept[0]!;
  for (let id = 0; id < vocabSize && chosen < 0; id++) {
    if (mask[id] !== 1 || probs[id] === 0) continue;
    cumulative += probs[id]!;
    if (cumulative > target) chosen = id;
    lastPositive = id;
  }
  for (const id of kept) mask[id] = 0;
  return chosen >= 0 ? chosen : lastPositive;
}
