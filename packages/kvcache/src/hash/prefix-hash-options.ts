/**
 * How a token sequence becomes a chain of blocks. The parent of block 0 is the
 * seed; the parent of block i > 0 is the hash of block i − 1. Every block's
 * extra keys start with the model id; block 0 also carries the tenant's cache
 * salt as a second key, so two tenants never share any block (every later hash
 * descends from the salted first one) while a tenant's own chains share freely.
 * An empty salt means the shared namespace and adds no key at all, so
 * `cacheSalt: ""` and no `cacheSalt` hash identically.
 */
import { encodeExtraKeys } from "./canonical-block-bytes.js";
import { DEFAULT_KV_HASH_SEED } from "./hash-spec.js";
import { assertBlockSize, assertKeyString, assertU64 } from "./validate.js";

export interface PrefixHashOptions {
  /** Tokens per block; a positive integer. Only full blocks get a hash. */
  blockSizeTokens: number;
  /** The served model's id; non-empty. Goes into every block. */
  modelId: string;
  /** The tenant's cache salt; "" or absent = the shared namespace. Goes into block 0 only. */
  cacheSalt?: string;
  /** Parent of block 0, a u64; default `DEFAULT_KV_HASH_SEED`. */
  seed?: bigint;
}

/** The extra keys of block `blockIndex` of a chain: `[modelId]`, or `[modelId, cacheSalt]` for a salted block 0. */
export function blockExtraKeys(modelId: string, cacheSalt: string, blockIndex: number): string[] {
  return blockIndex === 0 && cacheSalt !== "" ? [modelId, cacheSalt] : [modelId];
}

/** Options checked once, with both extra-key sections encoded once per chain. */
export interface ResolvedPrefixHash {
  readonly blockSizeTokens: number;
  readonly seed: bigint;
  readonly firstBlockKeys: Buffer;
  readonly laterBlockKeys: Buffer;
}

export function resolvePrefixHashOptions(options: PrefixHashOptions): ResolvedPrefixHash {
  const cacheSalt = options.cacheSalt ?? "";
  const seed = options.seed ?? DEFAULT_KV_HASH_SEED;
  assertBlockSize("blockSizeTokens", options.blockSizeTokens);
  assertKeyString("modelId", options.modelId, true);
  assertKeyString("cacheSalt", cacheSalt, false);
  assertU64("seed", seed);
  return {
    blockSizeTokens: options.blockSizeTokens,
    seed,
    firstBlockKeys: encodeExtraKeys(blockExtraKeys(options.modelId, cacheSalt, 0)),
    laterBlockKeys: encodeExtraKeys(blockExtraKeys(options.modelId, cacheSalt, 1)),
  };
}
