/**
 * The vocabulary of the cache. K and V are separate components that share a
 * logical block id but reside independently, on the device tier or the host
 * tier. Block hashes are unsigned 64-bit integers held as bigint (the proto's
 * fixed64), so the router and the workers compare them exactly.
 */

export type KvComponent = "k" | "v";
export type KvTier = "device" | "host";

export const KV_COMPONENTS: readonly KvComponent[] = ["k", "v"];
export const KV_TIERS: readonly KvTier[] = ["device", "host"];

/** A 64-bit block hash (unsigned, 0 … 2^64 − 1). */
export type BlockHash = bigint;

/** The part of a model config the cache needs (structurally satisfied by @sigmaserve/model's ModelConfig). */
export interface KvModelShape {
  num_hidden_layers: number;
  num_key_heads: number;
  num_value_heads: number;
  head_dim: number;
}

/** Default tokens per block, as in vLLM. */
export const DEFAULT_BLOCK_SIZE_TOKENS = 16;

/** Floats one block of a component holds: [layers][heads][block_size][head_dim]. */
export function blockElements(shape: KvModelShape, component: KvComponent, blockSizeTokens: number): number {
  const heads = component === "k" ? shape.num_key_heads : shape.num_value_heads;
  return shape.num_hidden_layers * heads * blockSizeTokens * shape.head_dim;
}

/**
 * The element type a pool stores one component in: f32 (4 bytes, the oracle), or a 16-bit type (2 bytes):
 * bf16 (f32's top half: 8 exponent bits, 7 mantissa bits, rounded to nearest even) or f16 (IEEE binary16).
 */
export type KvDtype = "f32" | "bf16" | "f16";
export const KV_DTYPES: readonly KvDtype[] = ["f32", "bf16", "f16"];
/** Bytes per element of each dtype. */
export const KV_DTYPE_BYTES: Readonly<Record<KvDtype, number>> = { f32: 4, bf16: 2, f16: 2 };
/** The dtype of each component: K and V may differ (e.g. K bf16, V f16). */
export type KvDtypes = Readonly<Record<KvComponent, KvDtype>>;

/**
 * The memory of one (component, tier) arena: a Float32Array for f32, a
 * Uint16Array of the raw 16-bit patterns for bf16 and f16. Same layout either
 * way: one element per value, [layers][heads][blockSizeTokens][head_dim] per slot.
 */
export type KvArena = Float32Array | Uint16Array;
