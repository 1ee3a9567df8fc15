/**
 * Log probabilities as the API reports them: the log-softmax of the raw
 * logits (temperature 1, before top-k and top-p), what vLLM returns by
 * default ("raw logprobs"). NOTE: we report the model's distribution, not the
 * distribution the token was drawn from, so the numbers do not change with
 * the sampling knobs, a greedy request gets meaningful values, and they are
 * comparable across requests; a token top-k/top-p could never have drawn
 * still has a finite logprob. Alternatives are the N best tokens by the
 * sampler's one ranking (higher logit, ties by lower id), best first.
 */
import { NonFiniteLogitsError } from "./errors.js";

/** One token and its natural-log probability. */
export interface TokenLogprob {
  readonly tokenId: number;
  readonly logprob: number;
}

/**
 * log Σ exp(logits[i]) computed stably around `maxLogit` (the row's maximum),
 * in f64. Throws `NonFiniteLogitsError` when the sum is not finite (a NaN
 * slipped past argmax's check, which sampleToken runs first).
 */
export function logSumExp(logits: Float32Array, maxLogit: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - maxLogit);
  if (!Number.isFinite(sum)) throw new NonFiniteLogitsError(`logits row of ${logits.length} holds NaN (softmax sum ${sum})`);
  return maxLogit + Math.log(sum);
}

/**
 * The `count` best tokens of `logits`, best first, with their logprobs given
 * the row's `logNormalizer` (its logSumExp). One pass; `count` is at most
 * MAX_LOGPROBS, so insertion into a short sorted list beats any heap, and
 * most tokens are rejected by one comparison with the current worst.
 */
export function topLogprobs(logits: Float32Array, count: number, logNormalizer: number): TokenLogprob[] {
  const size = Math.min(count, logits.length);
  const best: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    const logit = logits[id]!;
    // Ids arrive in ascending order, so an equal logit never displaces a kept token (ties go to the lower id).
    if (best.length === size && !(logit > logits[best[size - 1]!]!)) continue;
    let at = best.length === size ? size - 1 : best.length;
    while (at > 0 && logit > logits[best[at - 1]!]!) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = id;
  }
  return best.map((tokenId) => ({ tokenId, logprob: logits[tokenId]! - logNormalizer }));
}
