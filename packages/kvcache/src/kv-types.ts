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
