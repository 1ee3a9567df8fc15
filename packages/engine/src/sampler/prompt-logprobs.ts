/**
 * Prompt log probabilities (vLLM's `prompt_logprobs`, what lm-eval's
 * loglikelihood tasks read through echo + max_tokens 0 + logprobs): for the
 * prompt token at position p + 1, its log probability under the logits row the
 * model computed at position p, and the N best tokens of that row. Raw, like
 * sampled logprobs (see top-logprobs.ts): the model's log-softmax, with no
 * repetition penalty, temperature or truncation. The log-sum-exp runs in f64
 * over the float32 row.
 */
import { NonFiniteLogitsError } from "./errors.js";
import { type TokenLogprob, logSumExp, topLogprobs } from "./top-logprobs.js";

/** One prompt token's logprob given the tokens before it, and the best alternatives at its position. */
export interface PromptTokenLogprob {
  /** The prompt token scored. */
  readonly tokenId: number;
  /** Its natural-log probability given the prompt before it. */
  readonly logprob: number;
  /** The `topN` most likely tokens at its position, best first (ties to the lower id). */
  readonly topLogprobs: readonly TokenLogprob[];
}

/** Scores `targetTokenId` under one logits row ([vocab]) and takes the row's `topN` best tokens. */
export function promptTokenLogprob(logits: Float32Array, targetTokenId: number, topN: number): PromptTokenLogprob {
  if (!Number.isInteger(targetTokenId) || targetTokenId < 0 || targetTokenId >= logits.length) {
    throw new RangeError(`prompt token ${targetTokenId} is outside the vocabulary [0, ${logits.length})`);
  }
  let maxLogit = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > maxLogit) maxLogit = logits[i]!;
  // A row of -Inf or +Inf has no distribution; NaN is caught by logSumExp.
  if (!Number.isFinite(maxLogit)) throw new NonFiniteLogitsError(`logits row of ${logits.length} has maximum ${maxLogit}`);
  const logNormalizer = logSumExp(logits, maxLogit);
  return { tokenId: targetTokenId, logprob: logits[targetTokenId]! - logNormalizer, topLogprobs: topN > 0 ? topLogprobs(logits, topN, logNormalizer) : [] };
}
