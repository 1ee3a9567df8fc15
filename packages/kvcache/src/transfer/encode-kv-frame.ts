/**
 * Encodes the blocks of one component into one KV frame (layout in
 * kv-frame-layout.ts). The whole frame is sized up front and written into one
 * buffer: the header, then each payload converted into place and its checksum
 * taken over the bytes just written (so the checksum is of exactly what goes on
 * the wire), then the table checksum. Nothing is allocated per block beyond views
 * when the blocks are in the wire dtype already (a plain byte copy on
 * little-endian hosts: how a pool ships its stored bits) or go f32 → f16.
 */
import { Buffer, constants as bufferConstants } from "node:buffer";
import { arenaMatchesDtype } from "../dtype/kv-dtype-codec.js";
import type { KvComponent, KvDtype } from "../kv-types.js";
import { KvTransferError } from "./errors.js";
import { KV_FRAME_VERSIONS_READ, frameChecksum, type KvFrameVersion } from "./frame-checksum.js";
import {
  BLOCK_HASH_MAX,
  COMPONENT_CODES,
  HEADER_OFFSET,
  KV_FRAME_HEADER_BYTES,
  KV_FRAME_MAGIC,
  KV_FRAME_TABLE_CRC_BYTES,
  KV_FRAME_TABLE_ENTRY_BYTES,
  KV_FRAME_VERSION,
  SHAPE_FIELDS,
  U32_MAX,
  WIRE_DTYPE_BYTES,
  WIRE_DTYPE_CODES,
  frameShapeElements,
  kvFrameByteLength,
  payloadOffset,
  type KvFrameBlock,
  type KvFrameShape,
  type KvWireDtype,
} from "./kv-frame-layout.js";
import { writePayload } from "./payload-codec.js";

export interface KvFrameInput {
  component: KvComponent;
  /** How values travel: f32 exactly, or f16 / bf16 (half the bytes), rounded to nearest even from f32. */
  wireDtype: KvWireDtype;
  shape: KvFrameShape;
  /**
   * How the blocks' data is stored: f32 (Float32Array, the default), or bf16 / f16 (Uint16Array of the raw
   * patterns, a 16-bit pool's slots). Data already in `wireDtype` is copied as it is.
   */
  dataDtype?: KvDtype;
  /** Each block's data holds layers × heads × blockSizeTokens × headDim values, stored as `dataDtype`. */
  blocks: readonly KvFrameBlock[];
}

export interface EncodeKvFrameOptions {
  /**
   * Write the frame at the start of this buffer (at least kvFrameByteLength
   * bytes) and return a view of it, instead of allocating: a sender that
   * reuses one buffer skips the page faults of fresh memory on every frame.
   */
  into?: Uint8Array;
  /**
   * The format version to write; default KV_FRAME_VERSION. Version 1 (CRC-32)
   * is for a reader that predates version 2 and for compatibility tests.
   */
  version?: KvFrameVersion;
}

export function encodeKvFrame(input: KvFrameInput, options: EncodeKvFrameOptions = {}): Uint8Array {
  const { component, wireDtype, shape, blocks } = input;
  const dataDtype = input.dataDtype ?? "f32";
  const version = options.version ?? KV_FRAME_VERSION;
  if (!KV_FRAME_VERSIONS_READ.includes(version)) throw invalid(`version must be one of ${KV_FRAME_VERSIONS_READ.join(", ")}, got ${String(version)}`);
  const componentCode = COMPONENT_CODES.indexOf(component);
  if (componentCode < 0) throw invalid(`component must be one of ${COMPONENT_CODES.join(", ")}, got ${String(component)}`);
  const dtypeCode = WIRE_DTYPE_CODES.indexOf(wireDtype);
  if (dtypeCode < 0) throw invalid(`wireDtype must be one of ${WIRE_DTYPE_CODES.join(", ")}, got ${String(wireDtype)}`);
  if (!WIRE_DTYPE_CODES.includes(dataDtype)) throw invalid(`dataDtype must be one of ${WIRE_DTYPE_CODES.join(", ")}, got ${String(dataDtype)}`);
  for (const field of SHAPE_FIELDS) {
    const value = shape[field];
    if (!Number.isSafeInteger(value) || value < 1 || value > U32_MAX) throw invalid(`shape.${field} must be an integer in [1, ${U32_MAX}], got ${value}`);
  }
  const elements = frameShapeElements(shape);
  const payloadBytes = elements * WIRE_DTYPE_BYTES[wireDtype];
  if (payloadBytes > U32_MAX) throw new KvTransferError(`a block of this shape is ${payloadBytes} bytes on the wire, over the format's ${U32_MAX}`, { reason: "too-large" });
  if (blocks.length > U32_MAX) throw new KvTransferError(`${blocks.length} blocks are over the format's ${U32_MAX}`, { reason: "too-large" });
  blocks.forEach((block, index) => {
    if (typeof block.hash !== "bigint" || block.hash < 0n || block.hash > BLOCK_HASH_MAX) throw invalid(`blocks[${index}].hash must be a bigint in [0, 2^64), got ${String(block.hash)}`);
    if (!arenaMatchesDtype(block.data, dataDtype)) throw invalid(`blocks[${index}].data is a ${block.data.constructor.name}, but dataDtype ${dataDtype} is stored in a ${dataDtype === "f32" ? "Float32Array" : "Uint16Array"}`);
    if (block.data.length !== elements) throw invalid(`blocks[${index}].data has ${block.data.length} values, the shape needs ${elements}`);
  });
  const totalBytes = kvFrameByteLength(blocks.length, payloadBytes);
  if (totalBytes > bufferConstants.MAX_LENGTH) throw new KvTransferError(`the frame would be ${totalBytes} bytes, over one buffer's ${bufferConstants.MAX_LENGTH}`, { reason: "too-large" });

  const out = options.into === undefined ? allocateFrame(totalBytes) : options.into.subarray(0, totalBytes);
  if (out.byteLength < totalBytes) throw invalid(`the frame needs ${totalBytes} bytes, the buffer given has ${out.byteLength}`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(KV_FRAME_MAGIC, HEADER_OFFSET.magic);
  view.setUint16(HEADER_OFFSET.version, version, true);
  view.setUint8(HEADER_OFFSET.component, componentCode);
  view.setUint8(HEADER_OFFSET.wireDtype, dtypeCode);
  for (const field of SHAPE_FIELDS) view.setUint32(HEADER_OFFSET[field], shape[field], true);
  view.setUint32(HEADER_OFFSET.blockCount, blocks.length, true);
  view.setUint32(HEADER_OFFSET.payloadBytesPerBlock, payloadBytes, true);

  const firstPayload = payloadOffset(blocks.length);
  blocks.forEach((block, index) => {
    const offset = firstPayload + index * payloadBytes;
    writePayload(wireDtype, block.data, dataDtype, out, offset);
    const entry = KV_FRAME_HEADER_BYTES + index * KV_FRAME_TABLE_ENTRY_BYTES;
    view.setBigUint64(entry, block.hash, true);
    view.setUint32(entry + 8, frameChecksum(version, out.subarray(offset, offset + payloadBytes)), true);
  });
  const tableEnd = firstPayload - KV_FRAME_TABLE_CRC_BYTES;
  view.setUint32(tableEnd, frameChecksum(version, out.subarray(0, tableEnd)), true);
  return out;
}

function allocateFrame(totalBytes: number): Uint8Array {
  // NOTE: allocUnsafeSlow skips zero-filling (every byte is written) and never
  // hands out a slice of Node's shared pool, so the frame owns its memory.
  const slow = Buffer.allocUnsafeSlow(totalBytes);
  return new Uint8Array(slow.buffer, slow.byteOffset, slow.byteLength);
}

function invalid(message: string): KvTransferError {
  return new KvTransferError(`cannot encode KV frame: ${message}`, { reason: "invalid-input" });
}
