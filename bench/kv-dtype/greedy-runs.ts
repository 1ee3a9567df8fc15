/**
 * Greedy decoding through the engine's real runner over a KV cache of one
 * dtype per component, step by step (one prefill, then one token per step),
 * keeping every step's logits. Teacher-forced runs feed given tokens instead
 * of their own argmax, so their logits compare step by step with the oracle's.
 * (packages/engine's accuracy test has its own copy: benches import packages
 * through their public entries only.)
 */
import { ModelRunner, type AttentionKernel } from "@sigmaserve/engine";
import { KV_DTYPE_BYTES, KvCacheManager, type KvDtypes } from "@sigmaserve/kvcache";
import type { OrtDenseModel } from "@sigmaserve/model/runtime";
import type { LoadedModel } from "@sigmaserve/model/weights";

const BLOCK_SIZE_TOKENS = 16;

export interface GreedyRun {
  /** The token chosen (or forced) at each step. */
  tokens: number[];
  /** The logits of each step, [vocab]. */
  logits: Float32Array[];
}

/** Index of the largest value; the first one on a tie (the sampler's greedy rule). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export async function greedyRun(model: LoadedModel, dense: OrtDenseModel, kernel: AttentionKernel, dtype: KvDtypes, prompt: readonly number[], steps: number, forced?: readonly number[]): Promise<GreedyRun> {
  const c = model.config;
  const blocks = Math.ceil((prompt.length + steps) / BLOCK_SIZE_TOKENS) + 1;
  const bytes = (heads: number, width: number) => blocks * c.num_hidden_layers * heads * BLOCK_SIZE_TOKENS * c.head_dim * width;
  const kv = new KvCacheManager({
    shape: c,
    blockSizeTokens: BLOCK_SIZE_TOKENS,
    modelId: model.id,
    dtype,
    bytes: { k: { device: bytes(c.num_key_heads, KV_DTYPE_BYTES[dtype.k]), host: 0 }, v: { device: bytes(c.num_value_heads, KV_DTYPE_BYTES[dtype.v]), host: 0 } },
  });
  const runner = new ModelRunner({ config: c, dense, kv, kernel });
  if (kv.allocate("r", { promptTokens: prompt }) === null) throw new Error("no room for the prompt");
  let result = await runner.step([{ requestId: "r", startPosition: 0, tokens: [...prompt], wantLogits: true }]);
  kv.commitTokens("r", prompt);
  const run: GreedyRun = { tokens: [], logits: [] };
  for (let i = 0; i < steps; i++) {
    const logits = Float32Array.from(result.logits.get("r")!);
    const token = forced === undefined ? argmax(logits) : forced[i]!;
    run.logits.push(logits);
    run.tokens.push(token);
    if (i + 1 === steps) break;
    if (kv.appendSlots("r", 1) === null) throw new Error("no room for the next token");
    result = await runner.step([{ requestId: "r", startPosition: prompt.length + i, tokens: [token], wantLogits: true }]);
    kv.commitTokens("r", [token]);
  }
  return run;
}

/** Per step, the largest |a − b| over the vocabulary. */
export function stepMaxDifferences(a: GreedyRun, b: GreedyRun): number[] {
  return a.logits.map((row, step) => {
    const other = b.logits[step]!;
    let max = 0;
    for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]! - other[i]!));
    return max;
  });
}

/** The largest |logit| of a run: the scale a logit difference is read against. */
export function maxAbsLogit(run: GreedyRun): number {
  let max = 0;
  for (const row of run.logits) for (const x of row) max = Math.max(max, Math.abs(x));
  return max;
}
