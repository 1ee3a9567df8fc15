/**
 * A second, deliberately different implementation of sha256-trunc64/v1 for
 * tests: it builds the canonical bytes with a DataView over a plain
 * ArrayBuffer and TextEncoder (the code under test uses Buffer writes), reads
 * the truncated digest byte by byte, and walks chains by slicing. Only SHA-256
 * itself is shared, as the primitive both must call.
 */
import { createHash } from "node:crypto";

const TAG = "sigmaserve.kv.block.v1";
const utf8 = new TextEncoder();

export function referenceBytes(parent: bigint, tokenIds: readonly number[], extraKeys: readonly string[]): Uint8Array {
  const tag = utf8.encode(TAG);
  const keys = extraKeys.map((key) => utf8.encode(key));
  let length = tag.length + 8 + 4 + 4 * tokenIds.length + 4;
  for (const key of keys) length += 4 + key.length;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set(tag, 0);
  let at = tag.length;
  view.setBigUint64(at, parent, true);
  at += 8;
  view.setUint32(at, tokenIds.length, true);
  at += 4;
  for (const id of tokenIds) {
    view.setUint32(at, id, true);
    at += 4;
  }
  view.setUint32(at, keys.length, true);
  at += 4;
  for (const key of keys) {
    view.setUint32(at, key.length, true);
    bytes.set(key, at + 4);
    at += 4 + key.length;
  }
  return bytes;
}

export function referenceBlockHash(parent: bigint, tokenIds: readonly number[], extraKeys: readonly string[]): bigint {
  const digest = createHash("sha256").update(referenceBytes(parent, tokenIds, extraKeys)).digest();
  let value = 0n;
  for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(digest[i] ?? 0);
  return value;
}

export function referencePrefixHashes(
  tokenIds: readonly number[],
  blockSizeTokens: number,
  modelId: string,
  cacheSalt = "",
  seed = 0n,
): bigint[] {
  const out: bigint[] = [];
  for (let start = 0; start + blockSizeTokens <= tokenIds.length; start += blockSizeTokens) {
    const keys = out.length === 0 && cacheSalt.length > 0 ? [modelId, cacheSalt] : [modelId];
    out.push(referenceBlockHash(out.at(-1) ?? seed, tokenIds.slice(start, start + blockSizeTokens), keys));
  }
  return out;
}

/** 16 lowercase hex digits, the golden-vector notation of a u64. */
export function hex64(value: bigint): string {
  return value.toString(16).padStart(16, "0");
}

export function fromHex64(hex: string): bigint {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`not 16 lowercase hex digits: ${hex}`);
  return BigInt(`0x${hex}`);
}
