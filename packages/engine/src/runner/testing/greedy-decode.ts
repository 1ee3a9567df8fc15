/**
 * Tests only: greedy decoding through the real runner over a KV cache of a
 * given dtype, step by step (one prefill, then one token per step), keeping
 * every step's logits. With `forced` tokens the run is teacher-forced: it
 * feeds those tokens instead of its own argmax, so its logits can be compared
 * step by step with another run's without a divergence compounding.
 */
import { KvCacheManager, type KvDtypes } from "@sigmaserve/kvcache";
import type { OrtDenseModel } from "@sigmaserve/model/runtime";
import type { LoadedModel } from "@sigmaserve/model/weights";
import type { AttentionKernel } from "../../attention/attention-kernel.js";
import { ModelRunner } from "../model-runner.js";

const BLOCK_SIZE_TOKENS = 16;

export interface GreedyRun {
  /** The token chosen (or forced) after each step: tokens[i] follows the prompt and tokens[0 … i-1]. */
  tokens: number[];
  /** The logits each token was chosen from, [vocab] per step. */
  logits: Float32Array[];
}

/** Index of the largest value; the first one on a tie (as the sampler's greedy path). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export async function greedyDecode(model: LoadedModel, dense: OrtDenseModel, kernel: AttentionKernel, dtype: KvDtypes, prompt: readonly number[], steps: number, forced?: readonly number[]): Promise<GreedyRun> {
  const c = model.config;
  const blocks = Math.ceil((prompt.length + steps) / BLOCK_SIZE_TOKENS) + 1;
  const width = (d: string) => (d === "f32" ? 4 : 2);
  const bytes = (heads: number, d: string) => blocks * c.num_hidden_layers * heads * BLOCK_SIZE_TOKENS * c.head_dim * width(d);
  const kv = new KvCacheManager({ shape: c, blockSizeTokens: BLOCK_SIZE_TOKENS, modelId: model.id, dtype, bytes: { k: { device: bytes(c.num_key_heads, dtype.k), host: 0 }, v: { device: bytes(c.num_value_heads, dtype.v), host: 0 } } });
  const runner = new ModelRunner({ config: c, dense, kv, kernel });
  if (kv.allocate("r", { promptTokens: prompt }) === null) throw new Error("greedyDecode: the cache has no room for the prompt");
  let result = await runner.step([{ requestId: "r", startPosition: 0, tokens: [...prompt], wantLogits: true }]);
  kv.commitTokens("r", prompt);
  const run: GreedyRun = { tokens: [], logits: [] };
  for (let i = 0; i < steps; i++) {
    const logits = Float32Array.from(result.logits.get("r")!);
    const token = forced === undefined ? argmax(logits) : forced[i]!;
    run.logits.push(logits);
    run.tokens.push(token);
    if (i + 1 === steps) break;
    if (kv.appendSlots("r", 1) === null) throw new Error("greedyDecode: the cache has no room for the next token");
    result = await runner.step([{ requestId: "r", startPosition: prompt.length + i, tokens: [token], wantLogits: true }]);
    kv.commitTokens("r", [token]);
  }
  return run;
}

/** The largest |a − b| over every logit of every step. */
export function maxLogitDifference(a: GreedyRun, b: GreedyRun): number {
  let max = 0;
  a.logits.forEach((row, step) => {
    const other = b.logits[step]!;
    for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]! - other[i]!));
  });
  return max;
}

/** The fraction of steps whose tokens are identical. */
export function agreement(a: GreedyRun, b: GreedyRun): number {
  return a.tokens.filter((token, i) => token === b.tokens[i]).length / a.tokens.length;
}
