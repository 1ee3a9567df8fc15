/**
 * A dense f32 tensor in row-major order. Every weight is f32 in memory,
 * whatever dtype it was stored in; linear weights keep the Hugging Face
 * layout `[out_features, in_features]`.
 */
export interface Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Row-major elements; length = product of shape. */
  readonly data: Float32Array;
}

/** Named tensors, e.g. `model.layers.0.self_attn.q_proj.weight`. */
export type TensorMap = Map<string, Tensor>;

/** Number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
