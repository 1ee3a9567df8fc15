/**
 * The 4-D parts of the Hugging Face Llama export (hf-llama-onnx.ts): heads
 * views, RoPE on [batch, heads, seq, head_dim], the causal + padding mask and
 * grouped-query attention over the whole (past + current) K and V.
 *
 * Layout is HF's: per layer K and V are [batch, n_kv, total, head_dim] (K
 * after RoPE), queries [batch, n_q, seq, head_dim]. Q head i reads KV head
 * floor(i / (n_q / n_kv)) (contiguous groups, HF's repeat_kv and our
 * keyHeadFor alike), so the query heads of one group are adjacent in memory
 * and [batch, n_q, seq, d] can be viewed as [batch, n_kv, group·seq, d]: one
 * batched MatMul per layer scores every group against its K without copying
 * K n_q / n_kv times.
 */
import type { ModelConfig } from "../config/index.js";
import type { GraphBuilder } from "./graph-builder.js";

/** What a masked score becomes: float32's lowest, as HF does (finite, so a fully masked padding row stays finite). */
const MASKED_SCORE = -3.4028234663852886e38;

/** Shapes of the step, read from the inputs at run time. */
export interface StepShapes {
  /** [batch, seq] as a 1-D int64 tensor (Shape of input_ids). */
  batchSeq: string;
}

/** `[N, heads·d]` rows (N = batch·seq, row-major by batch then position) as `[batch, heads, seq, d]`. */
export function toHeads(g: GraphBuilder, x: string, heads: number, config: ModelConfig, shapes: StepShapes): string {
  const shape = g.node("Concat", [shapes.batchSeq, g.int64Initializer("heads_dims", [heads, config.head_dim])], { axis: 0 });
  return g.node("Transpose", [g.node("Reshape", [x, shape])], { perm: [0, 2, 1, 3] });
}

/** `[batch, heads, seq, d]` back to `[N, heads·d]` rows. */
export function fromHeads(g: GraphBuilder, x: string, heads: number, config: ModelConfig): string {
  const rows = g.node("Transpose", [x], { perm: [0, 2, 1, 3] });
  return g.node("Reshape", [rows, g.int64Initializer("rows_shape", [-1, heads * config.head_dim])]);
}

/**
 * cos and sin `[batch, 1, seq, d/2]` for each token's position id, gathered
 * from tables `[max_position_embeddings, d/2]` (ropeTables: the reference's
 * frequencies θ^(-2j/d)). A padding position may carry any id (transformers.js
 * gives it 1): its row is masked.
 */
export function ropeForPositions(g: GraphBuilder, tables: { cos: Float32Array; sin: Float32Array }, config: ModelConfig, positionIds: string): { cos: string; sin: string } {
  const dims = [config.max_position_embeddings, config.head_dim / 2];
  const headAxis = g.int64Initializer("rope_head_axis", [1]);
  const gather = (table: Float32Array, name: string) => g.node("Unsqueeze", [g.node("Gather", [g.floatInitializer(name, dims, table), positionIds], { axis: 0 }), headAxis]);
  return { cos: gather(tables.cos, "rope_cos"), sin: gather(tables.sin, "rope_sin") };
}

/** Rotate-half RoPE on `[batch, heads, seq, d]`: halves x1, x2 → [x1·cos − x2·sin, x2·cos + x1·sin]. */
export function applyRope4d(g: GraphBuilder, x: string, rope: { cos: string; sin: string }): string {
  const [x1, x2] = g.nodeMulti("Split", [x], 2, { axis: 3 });
  const first = g.node("Sub", [g.node("Mul", [x1!, rope.cos]), g.node("Mul", [x2!, rope.sin])]);
  const second = g.node("Add", [g.node("Mul", [x2!, rope.cos]), g.node("Mul", [x1!, rope.sin])]);
  return g.node("Concat", [first, second], { axis: 3 });
}

/**
 * Which keys each query may read, `[batch, 1, seq, total]` bool: key j is
 * allowed for the query at step position s when j ≤ past + s (causal, with
 * past = total − seq) and attention_mask[b, j] = 1 (not padding).
 */
export function allowedKeys(g: GraphBuilder, inputIds: string, attentionMask: string): string {
  const scalar = (value: string) => g.node("Squeeze", [value, g.int64Initializer("scalar_axis", [0])]);
  const seq = g.node("Gather", [g.node("Shape", [inputIds]), g.int64Initializer("seq_axis", [1])], { axis: 0 });
  const total = g.node("Gather", [g.node("Shape", [attentionMask]), g.int64Initializer("total_axis", [1])], { axis: 0 });
  const past = g.node("Sub", [total, seq]);
  const one = scalar(g.int64Initializer("one", [1]));
  const keyIndex = g.node("Range", [scalar(g.int64Initializer("zero", [0])), scalar(total), one]);
  const queryIndex = g.node("Unsqueeze", [g.node("Range", [scalar(past), scalar(total), one]), g.int64Initializer("query_axis", [1])]);
  const causal = g.node("LessOrEqual", [keyIndex, queryIndex]);
  const notPadding = g.node("Equal", [attentionMask, g.int64Initializer("mask_one", [1])]);
  const padding4d = g.node("Unsqueeze", [notPadding, g.int64Initializer("mask_axes", [1, 2])]);
  return g.node("And", [causal, padding4d]);
}

/**
 * Grouped-query attention: q `[batch, n_q, seq, d]`, k and v `[batch, n_kv,
 * total, d]`, allowed `[batch, 1, seq, total]` → `[batch, n_q, seq, d]`,
 * scale 1/sqrt(d).
 */
export function groupedQueryAttention(g: GraphBuilder, config: ModelConfig, q: string, k: string, v: string, allowed: string): string {
  const { num_attention_heads: nQ, num_key_heads: nKv, head_dim: d } = config;
  const grouped = g.node("Reshape", [q, g.int64Initializer("group_shape", [0, nKv, -1, d])]);
  const scale = g.floatInitializer("attention_scale", [], Float32Array.of(1 / Math.sqrt(d)));
  const scores = g.node("Mul", [g.node("MatMul", [grouped, g.node("Transpose", [k], { perm: [0, 1, 3, 2] })]), scale]);
  // [batch, n_kv, group·seq, total] viewed per query head, where the mask broadcasts over heads.
  const perHead = g.node("Reshape", [scores, g.int64Initializer("per_head_shape", [0, nQ, -1, 0])]);
  const masked = g.node("Where", [allowed, perHead, g.floatInitializer("masked_score", [], Float32Array.of(MASKED_SCORE))]);
  const probs = g.node("Softmax", [masked], { axis: -1 });
  const perGroup = g.node("Reshape", [probs, g.int64Initializer("per_group_shape", [0, nKv, -1, 0])]);
  return g.node("Reshape", [g.node("MatMul", [perGroup, v]), g.int64Initializer("heads_shape", [0, nQ, -1, d])]);
}
