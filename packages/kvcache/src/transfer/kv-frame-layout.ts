/**
 * The KV transfer frame: the blocks of one component (K or V) of one model
 * shape, as they move between workers. A frame is self-describing (magic,
 * version, component, wire dtype, shape, block count), carries a checksum per
 * block over that block's wire bytes so an importer verifies each block before
 * it writes it, and a checksum over the header and block table so a corrupt
 * hash or length is never trusted. The checksum is the version's
 * (frame-checksum.ts): CRC-32C in version 2, which writers emit, zlib's CRC-32
 * in version 1, which readers still accept. All integers are little-endian:
 *
 * | offset       | bytes | field                                                          |
 * |--------------|-------|----------------------------------------------------------------|
 * | 0            | 4     | magic, ASCII "SKV1" (0x53 0x4b 0x56 0x31)                       |
 * | 4            | 2     | format version, u16: 2 (CRC-32C), or 1 (CRC-32)                 |
 * | 6            | 1     | component, u8: 0 = K, 1 = V                                     |
 * | 7            | 1     | wire dtype, u8: 0 = f32 (4 bytes), 1 = f16 (2 bytes, IEEE binary16), 2 = bf16 (2 bytes) |
 * | 8            | 4     | layers, u32                                                     |
 * | 12           | 4     | heads, u32 (n_k for K, n_v for V)                               |
 * | 16           | 4     | block size in tokens, u32                                       |
 * | 20           | 4     | head_dim, u32                                                   |
 * | 24           | 4     | block count N, u32                                              |
 * | 28           | 4     | payload bytes per block P, u32 (= layers·heads·block size·head_dim·dtype width) |
 * | 32 + 12i     | 8     | block i's hash, u64                                             |
 * | 40 + 12i     | 4     | block i's payload checksum (of its P wire bytes)                |
 * | 32 + 12N     | 4     | table checksum: of bytes [0, 32 + 12N)                          |
 * | 36 + 12N + iP | P    | block i's payload: [layer][head][token][dim] elements          |
 *
 * The frame is exactly 36 + 12N + N·P bytes. Payloads start 4-aligned, so a
 * reader whose buffer is 4-aligned can view them in place. f16 and bf16
 * payloads are rounded to nearest, ties to even, when made from f32; a pool
 * that stores a 16-bit dtype ships its raw stored bits in that dtype (no
 * widen-then-narrow), and an importer whose pool stores another dtype converts.
 * NOTE: bf16 (code 2) came without a version bump: a frame's layout does not
 * change with its dtype, every f32 and f16 frame reads as before, and a reader
 * that predates bf16 refuses a bf16 frame with a clear "wire dtype code 2 is
 * unknown" (reason "unknown-dtype") rather than misreading it. NOTE: P is stored although the shape
 * implies it, so a reader checks the two agree before it trusts either, and
 * a block's payload is capped at 4 GiB − 1 (a real block is a few MiB).
 */
import type { BlockHash, KvArena, KvComponent, KvDtype, KvModelShape } from "../kv-types.js";

/** "SKV1" as bytes. */
export const KV_FRAME_MAGIC: readonly number[] = [0x53, 0x4b, 0x56, 0x31];
/** The version writers emit. */
export const KV_FRAME_VERSION = 2;
/** Bytes before the block table. */
export const KV_FRAME_HEADER_BYTES = 32;
/** Bytes of one block-table entry: u64 hash + u32 payload checksum. */
export const KV_FRAME_TABLE_ENTRY_BYTES = 12;
/** Bytes of the table checksum that follows the block table. */
export const KV_FRAME_TABLE_CRC_BYTES = 4;

/** Byte offsets of the header fields. */
export const HEADER_OFFSET = {
  magic: 0,
  version: 4,
  component: 6,
  wireDtype: 7,
  layers: 8,
  heads: 12,
  blockSizeTokens: 16,
  headDim: 20,
  blockCount: 24,
  payloadBytesPerBlock: 28,
} as const;

/** Largest value of a u32 field. */
export const U32_MAX = 0xffff_ffff;
/** Largest block hash (u64). */
export const BLOCK_HASH_MAX = (1n << 64n) - 1n;

/** How values travel: the dtypes a pool stores (a frame carries its component's stored dtype by default). */
export type KvWireDtype = KvDtype;

/** Wire codes of components and dtypes, in code order (index = code). */
export const COMPONENT_CODES: readonly KvComponent[] = ["k", "v"];
export const WIRE_DTYPE_CODES: readonly KvWireDtype[] = ["f32", "f16", "bf16"];
/** Bytes per element on the wire. */
export const WIRE_DTYPE_BYTES: Readonly<Record<KvWireDtype, number>> = { f32: 4, f16: 2, bf16: 2 };

/** The shape of one block of one component: [layers][heads][blockSizeTokens][headDim]. */
export interface KvFrameShape {
  layers: number;
  heads: number;
  blockSizeTokens: number;
  headDim: number;
}

export const SHAPE_FIELDS: readonly (keyof KvFrameShape)[] = ["layers", "heads", "blockSizeTokens", "headDim"];

/** A block to send, or a block received: its hash and its values in memory (f32, or a pool's stored 16-bit patterns). */
export interface KvFrameBlock {
  hash: BlockHash;
  data: KvArena;
}

/** A block whose payload failed its checksum: it was not returned or written, and must be recomputed. */
export interface KvRefusedBlock {
  /** Position in the frame. */
  index: number;
  hash: BlockHash;
  /** e.g. "block 0x00ab…cdef checksum mismatch (stored 0x…, computed 0x…)". */
  reason: string;
}

/** What a caller expects a frame to hold; a sound frame that differs is rejected. */
export interface KvFrameExpectation {
  component?: KvComponent;
  shape?: KvFrameShape;
}

/** The frame shape of one component of a model's block (heads = n_k for K, n_v for V). */
export function kvFrameShape(model: KvModelShape, component: KvComponent, blockSizeTokens: number): KvFrameShape {
  return {
    layers: model.num_hidden_layers,
    heads: component === "k" ? model.num_key_heads : model.num_value_heads,
    blockSizeTokens,
    headDim: model.head_dim,
  };
}

/** f32 values in one block of this shape (a float; the caller checks it is in range). */
export function frameShapeElements(shape: KvFrameShape): number {
  return shape.layers * shape.heads * shape.blockSizeTokens * shape.headDim;
}

/** Frame bytes for N blocks of P payload bytes each (a float; the caller checks it is in range). */
export function kvFrameByteLength(blockCount: number, payloadBytesPerBlock: number): number {
  return payloadOffset(blockCount) + blockCount * payloadBytesPerBlock;
}

/** Offset of the first payload: header, table and table checksum. */
export function payloadOffset(blockCount: number): number {
  return KV_FRAME_HEADER_BYTES + blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
}

/** A block hash as 0x and 16 hex digits. */
export function formatBlockHash(hash: BlockHash): string {
  return `0x${hash.toString(16).padStart(16, "0")}`;
}

/** A 32-bit checksum as 0x and 8 hex digits. */
export function formatCrc(crc: number): string {
  return `0x${(crc >>> 0).toString(16).padStart(8, "0")}`;
}

/** True on little-endian hosts (x86, arm64 as Node runs them): payloads are then copied, not converted. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
