/**
 * What a worker publishes about its hashing (WorkerInfo.kv_hash), so the
 * router can refuse to use cache hints computed a different way. Two parties
 * agree on every block hash exactly when algorithm, seed and block size match
 * (the model id and cache salt travel with each request instead).
 */
import { assertBlockSize, assertU64 } from "./validate.js";

/** Name of the hash defined here: SHA-256 over the v1 canonical encoding, truncated to 64 bits. */
export const KV_HASH_ALGORITHM = "sha256-trunc64/v1";

/** The parent of every chain's first block unless a deployment picks another (a u64). */
export const DEFAULT_KV_HASH_SEED = 0n;

export interface KvHashSpec {
  readonly algorithm: typeof KV_HASH_ALGORITHM;
  /** Parent of the first block of every chain (u64). */
  readonly seed: bigint;
  /** Tokens per block; only full blocks are hashed. */
  readonly blockSizeTokens: number;
}

/** The spec of this package's hash with the given block size and seed (default `DEFAULT_KV_HASH_SEED`); frozen. */
export function describeHashSpec(options: { blockSizeTokens: number; seed?: bigint }): KvHashSpec {
  const seed = options.seed ?? DEFAULT_KV_HASH_SEED;
  assertBlockSize("blockSizeTokens", options.blockSizeTokens);
  assertU64("seed", seed);
  return Object.freeze({ algorithm: KV_HASH_ALGORITHM, seed, blockSizeTokens: options.blockSizeTokens });
}
