/**
 * The dense operations of a DiffQKV layer as ONNX subgraphs.
 *
 * Activations are 2-D `[N, width]`: N rows are tokens from any mix of
 * sequences (the engine packs a ragged batch), so nothing here looks across
 * rows. Linear layers are Gemm with transB=1, so weights keep Hugging Face's
 * `[out, in]` layout and are not copied into a transposed form.
 */
import type { ModelConfig } from "../config/index.js";
import type { GraphBuilder } from "./graph-builder.js";

/** y = x · Wᵀ for W of shape [out, in]. */
export function linear(g: GraphBuilder, x: string, weight: { shape: readonly number[]; data: Float32Array }, prefix: string): string {
  const w = g.floatInitializer(prefix, weight.shape, weight.data);
  return g.node("Gemm", [x, w], { transB: 1 });
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. */
export function rmsNorm(g: GraphBuilder, x: string, weight: Float32Array, eps: number, prefix: string): string {
  const squared = g.node("Mul", [x, x]);
  const meanSquare = g.node("ReduceMean", [squared], { axes: [-1], keepdims: 1 });
  const epsilon = g.floatInitializer(`${prefix}_eps`, [], Float32Array.of(eps));
  const rms = g.node("Sqrt", [g.node("Add", [meanSquare, epsilon])]);
  const normalized = g.node("Div", [x, rms]);
  return g.node("Mul", [normalized, g.floatInitializer(prefix, [weight.length], weight)]);
}

/** silu(x) = x · sigmoid(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.node("Mul", [x, g.node("Sigmoid", [x])]);
}

/** SwiGLU: down(silu(gate(x)) · up(x)); the MLP and augmented Q alike. */
export function gatedMlp(
  g: GraphBuilder,
  x: string,
  weights: Record<"gate" | "up" | "down", { shape: readonly number[]; data: Float32Array }>,
  prefix: string,
): string {
  const gate = linear(g, x, weights.gate, `${prefix}_gate`);
  const up = linear(g, x, weights.up, `${prefix}_up`);
  return linear(g, g.node("Mul", [silu(g, gate), up]), weights.down, `${prefix}_down`);
}

/**
 * cos and sin tables `[max_position_embeddings, head_dim / 2]` for RoPE, with
 * the reference's frequencies θ^(-2j/d), computed in float64 then rounded.
 */
export function ropeTables(config: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const half = config.head_dim / 2;
  const positions = config.max_position_embeddings;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * config.rope_theta ** ((-2 * j) / config.head_dim);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Reshapes per-row cos or sin `[N, d/2]` (a stage input) to `[N, 1, 1, d/2]` for broadcasting over heads. */
export function ropeRows(g: GraphBuilder, config: ModelConfig, rows: { cos: string; sin: string }): { cos: string; sin: string } {
  const shape = g.int64Initializer("rope_row_shape", [-1, 1, 1, config.head_dim / 2]);
  return { cos: g.node("Reshape", [rows.cos, shape]), sin: g.node("Reshape", [rows.sin, shape]) };
}

/**
 * RoPE in rotate-half form on `[N, heads·d]`: view as [N, heads, 2, d/2], so
 * the halves are x1 = [..., 0, :] and x2 = [..., 1, :];
 * out = [x1·cos − x2·sin, x2·cos + x1·sin].
 */
export function applyRope(g: GraphBuilder, x: string, heads: number, config: ModelConfig, rope: { cos: string; sin: string }): string {
  const d = config.head_dim;
  const split = g.node("Reshape", [x, g.int64Initializer("rope_split_shape", [-1, heads, 2, d / 2])]);
  const [x1, x2] = g.nodeMulti("Split", [split], 2, { axis: 2 });
  const first = g.node("Sub", [g.node("Mul", [x1!, rope.cos]), g.node("Mul", [x2!, rope.sin])]);
  const second = g.node("Add", [g.node("Mul", [x2!, rope.cos]), g.node("Mul", [x1!, rope.sin])]);
  const joined = g.node("Concat", [first, second], { axis: 2 });
  return g.node("Reshape", [joined, g.int64Initializer("rope_flat_shape", [-1, heads * d])]);
}
