/**
 * The canonical byte encoding of one block, the input of the hash. Every
 * field has a fixed width or a length prefix, so two different inputs never
 * encode to the same bytes. In order, with no padding:
 *
 *   "sigmaserve.kv.block.v1"   22 ASCII bytes (the domain tag; no length, no terminator)
 *   parent                     u64 little-endian
 *   token count                u32 little-endian
 *   each token id              u32 little-endian
 *   extra key count            u32 little-endian
 *   each extra key             u32 little-endian byte length, then its UTF-8 bytes
 *
 * NOTE: the tag names the version: any change to this layout is a new tag and
 * a new `KV_HASH_ALGORITHM`, never an edit of this one (golden vectors pin it).
 */
import { assertKeyString, assertTokenIds, assertU64 } from "./validate.js";

/** Domain tag that opens every encoded block. */
export const KV_HASH_DOMAIN_TAG = "sigmaserve.kv.block.v1";

const DOMAIN_TAG_BYTES = Buffer.from(KV_HASH_DOMAIN_TAG, "utf8");
const U64_BYTES = 8;
const U32_BYTES = 4;

/**
 * The extra-key section (count, then each key as length + UTF-8) on its own,
 * so a chain encodes its keys once rather than once per block.
 */
export function encodeExtraKeys(extraKeys: readonly string[]): Buffer {
  const keyBytes = extraKeys.map((key) => Buffer.from(key, "utf8"));
  const totalBytes = keyBytes.reduce((sum, bytes) => sum + U32_BYTES + bytes.length, U32_BYTES);
  const out = Buffer.allocUnsafe(totalBytes);
  let offset = out.writeUInt32LE(keyBytes.length, 0);
  for (const bytes of keyBytes) {
    offset = out.writeUInt32LE(bytes.length, offset);
    offset += bytes.copy(out, offset);
  }
  return out;
}

/**
 * Canonical bytes of `tokenIds[start, end)` under `parent`, with the extra-key
 * section already encoded. Trusts its inputs: callers validate first.
 */
export function encodeBlock(
  parent: bigint,
  tokenIds: ArrayLike<number>,
  start: number,
  end: number,
  encodedExtraKeys: Uint8Array,
): Buffer {
  const tokenCount = end - start;
  const out = Buffer.allocUnsafe(
    DOMAIN_TAG_BYTES.length + U64_BYTES + U32_BYTES + tokenCount * U32_BYTES + encodedExtraKeys.length,
  );
  let offset = DOMAIN_TAG_BYTES.copy(out, 0);
  offset = out.writeBigUInt64LE(parent, offset);
  offset = out.writeUInt32LE(tokenCount, offset);
  // NOTE: `as number` is safe: the range [start, end) lies inside the validated array.
  for (let i = start; i < end; i++) offset = out.writeUInt32LE(tokenIds[i] as number, offset);
  out.set(encodedExtraKeys, offset);
  return out;
}

/** Validates the arguments of one block as `blockHash` takes them. */
export function assertBlockArguments(parent: bigint, tokenIds: ArrayLike<number>, extraKeys: readonly string[]): void {
  assertU64("parent", parent);
  assertTokenIds("tokenIds", tokenIds);
  extraKeys.forEach((key, i) => assertKeyString(`extraKeys[${i}]`, key, false));
}

/** The exact bytes `blockHash` hashes, for debugging and for other implementations to compare against. */
export function canonicalBlockBytes(parent: bigint, tokenIds: ArrayLike<number>, extraKeys: readonly string[]): Uint8Array {
  assertBlockArguments(parent, tokenIds, extraKeys);
  return encodeBlock(parent, tokenIds, 0, tokenIds.length, encodeExtraKeys(extraKeys));
}
