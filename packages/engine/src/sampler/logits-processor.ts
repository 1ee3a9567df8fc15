/**
 * The per-request part of sampling that depends on the request's history:
 * vLLM's min_tokens mask and repetition penalty, applied to a logits row
 * before the sampler's temperature, min-p, top-k and top-p (sample-token.ts).
 *
 * - min_tokens: while fewer than min_tokens tokens were generated, every id
 *   that would end the request (stop_token_ids, plus EOS unless ignore_eos:
 *   `stopTokenIdsOf`) is set to -Inf, so it cannot be sampled.
 * - repetition_penalty (HF's and vLLM's rule): for every id present in the
 *   prompt or the output so far, a logit > 0 is divided by the penalty and any
 *   other is multiplied by it. Each id counts once however often it occurs.
 *   The result is stored as float32, like the row (vLLM applies it in the
 *   logits' dtype).
 *
 * The state is a function of (prompt, output tokens): a request replayed on
 * another worker rebuilds it from the prompt and the replayed tokens, so a
 * seeded request samples the same tokens after a failover. The processed row
 * is written into a module scratch buffer (sampling is synchronous), valid
 * until the next `apply` of any processor; the caller's row is never changed,
 * so logprobs stay raw.
 */
import type { SamplingParams } from "./sampling-params.js";

let rowScratch = new Float32Array(0);

export class LogitsProcessor {
  private readonly penalty: number;
  private readonly minTokens: number;
  private readonly maskedIds: readonly number[];
  /** Ids present in the prompt or the output; empty when the penalty is off (nothing reads it). */
  private readonly seen = new Set<number>();

  /**
   * `stopTokenIds`: the ids that end the request (stopTokenIdsOf). `knownTokens`: the prompt followed by the
   * tokens generated so far (replayed ones included).
   */
  constructor(params: Pick<SamplingParams, "repetitionPenalty" | "minTokens">, stopTokenIds: Iterable<number>, knownTokens: Iterable<number>) {
    this.penalty = params.repetitionPenalty;
    this.minTokens = params.minTokens;
    this.maskedIds = this.minTokens > 0 ? [...stopTokenIds] : [];
    if (this.penalty !== 1) for (const id of knownTokens) this.seen.add(id);
  }

  /** Records a generated token (for the repetition penalty). */
  observe(tokenId: number): void {
    if (this.penalty !== 1) this.seen.add(tokenId);
  }

  /** Whether `apply` changes anything when `numGenerated` tokens were generated. */
  isActive(numGenerated: number): boolean {
    return this.penalty !== 1 || (numGenerated < this.minTokens && this.maskedIds.length > 0);
  }

  /**
   * The row to sample the token after `numGenerated` generated tokens from:
   * `logits` itself when nothing applies, else a processed copy (scratch,
   * valid until the next apply).
   */
  apply(logits: Float32Array, numGenerated: number): Float32Array {
    if (!this.isActive(numGenerated)) return logits;
    if (rowScratch.length !== logits.length) rowScratch = new Float32Array(logits.length);
    const row = rowScratch;
    row.set(logits);
    const penalty = this.penalty;
    if (penalty !== 1) {
      for (const id of this.seen) {
        // An id outside the row (a prompt id of a larger vocabulary) has no logit to change.
        if (id >= row.length) continue;
        const logit = row[id]!;
        row[id] = logit > 0 ? logit / penalty : logit * penalty;
      }
    }
    if (numGenerated < this.minTokens) for (const id of this.maskedIds) if (id < row.length) row[id] = -Infinity;
    return row;
  }
}
