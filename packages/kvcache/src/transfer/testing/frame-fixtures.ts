/** Small frames and tools to damage them, for the transfer tests. */
import { crc32 } from "node:zlib";
import type { BlockHash } from "../../kv-types.js";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_ENTRY_BYTES, frameShapeElements, type KvFrameShape } from "../kv-frame-layout.js";

/** 2 layers × 2 heads × 4 tokens × 8 dims = 128 values (512 bytes in f32). */
export const SMALL_SHAPE: KvFrameShape = { layers: 2, heads: 2, blockSizeTokens: 4, headDim: 8 };

export const HASHES = [0x00ab_12cd_34ef_5678n, 0xffff_ffff_ffff_ffffn, 0n, 0x0123_4567_89ab_cdefn];

/** `count` blocks of the shape with distinct, deterministic values (mixed signs and magnitudes). */
export function makeBlocks(shape: KvFrameShape, count: number): { hash: BlockHash; data: Float32Array }[] {
  const elements = frameShapeElements(shape);
  return Array.from({ length: count }, (_, b) => {
    const data = new Float32Array(elements);
    for (let i = 0; i < elements; i++) data[i] = Math.sin(b * 1000 + i) * Math.pow(2, (i % 13) - 6);
    return { hash: HASHES[b % HASHES.length]! + BigInt(Math.floor(b / HASHES.length)), data };
  });
}

/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), bit by bit: an oracle
 * for the hardware CRC that version 2 frames carry, sharing no code with it.
 */
export function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffff_ffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f6_3b78 : crc >>> 1;
  }
  return (crc ^ 0xffff_ffff) >>> 0;
}

/** The checksum a frame of this version carries, from the oracles (zlib's CRC-32 is the definition of version 1). */
export function referenceChecksum(version: number, bytes: Uint8Array): number {
  return version === 1 ? crc32(bytes) : referenceCrc32c(bytes);
}

/** Recomputes the table checksum after a test edited the header, so the edit is seen by the later checks. */
export function resealTable(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tableEnd = KV_FRAME_HEADER_BYTES + view.getUint32(24, true) * KV_FRAME_TABLE_ENTRY_BYTES;
  view.setUint32(tableEnd, referenceChecksum(view.getUint16(4, true), bytes.subarray(0, tableEnd)), true);
  return bytes;
}

/** A copy with byte `offset` inverted. */
export function flipByte(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] = copy[offset]! ^ 0xff;
  return copy;
}

/** The uint32 bit patterns of an f32 array, for bit-exact comparison (NaN payloads, −0). */
export function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}
