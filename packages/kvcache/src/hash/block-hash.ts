/**
 * H, the hash of one block: SHA-256 over the canonical bytes
 * (see canonical-block-bytes.ts), truncated to 64 bits by reading the first 8
 * bytes of the digest as an unsigned big-endian integer. 64 bits fit the
 * proto's fixed64 and keep the router's index small; among a million distinct
 * blocks the chance of any collision is about n²/2⁶⁵ ≈ 3·10⁻⁸, which we accept.
 * Tenants are separated by the salt in the input, not by the hash width.
 */
import { createHash } from "node:crypto";
import type { BlockHash } from "../kv-types.js";
import { assertBlockArguments, encodeBlock, encodeExtraKeys } from "./canonical-block-bytes.js";

/** The first 8 bytes of SHA-256(bytes) as an unsigned big-endian u64. */
export function hashCanonicalBytes(bytes: Uint8Array): BlockHash {
  return createHash("sha256").update(bytes).digest().readBigUInt64BE(0);
}

/**
 * H(parent, tokenIds, extraKeys) of one block. Chains pass the previous
 * block's hash (or the seed) as `parent`; see `prefixBlockHashes` for which
 * extra keys a block gets.
 */
export function blockHash(parent: bigint, tokenIds: ArrayLike<number>, extraKeys: readonly string[]): BlockHash {
  assertBlockArguments(parent, tokenIds, extraKeys);
  return hashCanonicalBytes(encodeBlock(parent, tokenIds, 0, tokenIds.length, encodeExtraKeys(extraKeys)));
}
