/**
 * Reads and checks everything in a KV frame except the payloads: magic,
 * version, the table checksum (so no hash, code or length is trusted before it
 * passes), codes, shape, and that the frame is exactly as long as its header
 * says. Every length is checked as a plain number before any typed array is
 * made over it, so a lying header gives a KvTransferError, never a RangeError.
 * A caller's expectation (component, shape) is checked last, on a sound frame.
 * NOTE: a flipped byte in the header or the block table fails the table checksum
 * and rejects the whole frame (unless it hits the magic or the version, which
 * are reported as such first): offsets and hashes can no longer be trusted,
 * so no block of that frame can be attributed.
 */
import type { BlockHash, KvComponent } from "../kv-types.js";
import { KvTransferError, type KvTransferErrorReason } from "./errors.js";
import { KV_FRAME_VERSIONS_READ, frameChecksum, frameChecksumName, type KvFrameVersion } from "./frame-checksum.js";
import {
  COMPONENT_CODES,
  HEADER_OFFSET,
  KV_FRAME_HEADER_BYTES,
  KV_FRAME_MAGIC,
  KV_FRAME_TABLE_CRC_BYTES,
  KV_FRAME_TABLE_ENTRY_BYTES,
  SHAPE_FIELDS,
  U32_MAX,
  WIRE_DTYPE_BYTES,
  WIRE_DTYPE_CODES,
  formatCrc,
  frameShapeElements,
  kvFrameByteLength,
  payloadOffset,
  type KvFrameExpectation,
  type KvFrameShape,
  type KvWireDtype,
} from "./kv-frame-layout.js";

/** A checked frame header and block table. */
export interface KvFrameHeader {
  /** The format version, which names the checksum. */
  version: KvFrameVersion;
  component: KvComponent;
  wireDtype: KvWireDtype;
  shape: KvFrameShape;
  blockCount: number;
  /** Values per block (elements, whatever the dtype). */
  elementsPerBlock: number;
  /** Wire bytes per block (P). */
  payloadBytesPerBlock: number;
  /** Offset of block 0's payload in the frame. */
  payloadOffset: number;
  /** Block i's hash. */
  hashes: BlockHash[];
  /** Block i's stored payload checksum. */
  payloadCrcs: number[];
}

export function readKvFrameHeader(bytes: Uint8Array, expected: KvFrameExpectation = {}): KvFrameHeader {
  if (bytes.byteLength < KV_FRAME_HEADER_BYTES) {
    throw broken(`KV frame is ${bytes.byteLength} bytes, shorter than its ${KV_FRAME_HEADER_BYTES}-byte header`, "truncated");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (KV_FRAME_MAGIC.some((byte, i) => bytes[HEADER_OFFSET.magic + i] !== byte)) {
    const found = Array.from(bytes.subarray(0, KV_FRAME_MAGIC.length), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw broken(`not a KV frame: magic is ${found}, expected 53 4b 56 31 ("SKV1")`, "bad-magic");
  }
  const rawVersion = view.getUint16(HEADER_OFFSET.version, true);
  if (!(KV_FRAME_VERSIONS_READ as readonly number[]).includes(rawVersion)) {
    throw broken(`KV frame version ${rawVersion} is not supported (this reader knows versions ${KV_FRAME_VERSIONS_READ.join(" and ")})`, "unsupported-version");
  }
  const version = rawVersion as KvFrameVersion;

  const blockCount = view.getUint32(HEADER_OFFSET.blockCount, true);
  const firstPayload = payloadOffset(blockCount);
  if (firstPayload > bytes.byteLength) {
    throw broken(`KV frame is truncated: its header says ${blockCount} blocks, whose table needs ${firstPayload} bytes, and the frame has ${bytes.byteLength}`, "truncated");
  }
  const tableEnd = firstPayload - KV_FRAME_TABLE_CRC_BYTES;
  const storedTableCrc = view.getUint32(tableEnd, true);
  const computedTableCrc = frameChecksum(version, bytes.subarray(0, tableEnd));
  if (storedTableCrc !== computedTableCrc) {
    throw broken(
      `KV frame header or block table is corrupt: table ${frameChecksumName(version)} mismatch (stored ${formatCrc(storedTableCrc)}, computed ${formatCrc(computedTableCrc)})`,
      "table-checksum",
    );
  }

  const componentCode = view.getUint8(HEADER_OFFSET.component);
  const component = COMPONENT_CODES[componentCode];
  if (component === undefined) throw broken(`KV frame component code ${componentCode} is unknown (0 = k, 1 = v)`, "unknown-component");
  const dtypeCode = view.getUint8(HEADER_OFFSET.wireDtype);
  const wireDtype = WIRE_DTYPE_CODES[dtypeCode];
  if (wireDtype === undefined) throw broken(`KV frame wire dtype code ${dtypeCode} is unknown (0 = f32, 1 = f16, 2 = bf16)`, "unknown-dtype");
  const shape: KvFrameShape = {
    layers: view.getUint32(HEADER_OFFSET.layers, true),
    heads: view.getUint32(HEADER_OFFSET.heads, true),
    blockSizeTokens: view.getUint32(HEADER_OFFSET.blockSizeTokens, true),
    headDim: view.getUint32(HEADER_OFFSET.headDim, true),
  };
  for (const field of SHAPE_FIELDS) if (shape[field] === 0) throw broken(`KV frame shape has ${field} 0`, "inconsistent-lengths");
  // A float product: u32 fields multiply past 2^53 only for shapes no P can match.
  const elementsPerBlock = frameShapeElements(shape);
  const payloadBytesPerBlock = view.getUint32(HEADER_OFFSET.payloadBytesPerBlock, true);
  const shapeBytes = elementsPerBlock * WIRE_DTYPE_BYTES[wireDtype];
  if (payloadBytesPerBlock !== shapeBytes) {
    throw broken(
      `KV frame lengths are inconsistent: payload bytes per block is ${payloadBytesPerBlock}, but ${shape.layers}×${shape.heads}×${shape.blockSizeTokens}×${shape.headDim} ${wireDtype} values need ${shapeBytes > U32_MAX ? `more than the format's ${U32_MAX}` : shapeBytes}`,
      "inconsistent-lengths",
    );
  }
  const totalBytes = kvFrameByteLength(blockCount, payloadBytesPerBlock);
  if (totalBytes > bytes.byteLength) {
    throw broken(`KV frame is truncated: ${blockCount} blocks of ${payloadBytesPerBlock} bytes need ${totalBytes} bytes, and the frame has ${bytes.byteLength}`, "truncated");
  }
  if (totalBytes < bytes.byteLength) throw broken(`KV frame has ${bytes.byteLength - totalBytes} bytes after its last block (expected ${totalBytes} bytes in all)`, "trailing-bytes");

  if (expected.component !== undefined && expected.component !== component) {
    throw broken(`KV frame holds component ${component}, expected ${expected.component}`, "component-mismatch");
  }
  if (expected.shape !== undefined) {
    const want = expected.shape;
    const differences = SHAPE_FIELDS.filter((field) => shape[field] !== want[field]).map((field) => `${field} is ${shape[field]}, expected ${want[field]}`);
    if (differences.length > 0) throw broken(`KV frame shape mismatch: ${differences.join("; ")}`, "shape-mismatch");
  }

  const hashes: BlockHash[] = [];
  const payloadCrcs: number[] = [];
  for (let i = 0; i < blockCount; i++) {
    const entry = KV_FRAME_HEADER_BYTES + i * KV_FRAME_TABLE_ENTRY_BYTES;
    hashes.push(view.getBigUint64(entry, true));
    payloadCrcs.push(view.getUint32(entry + 8, true));
  }
  return { version, component, wireDtype, shape, blockCount, elementsPerBlock, payloadBytesPerBlock, payloadOffset: firstPayload, hashes, payloadCrcs };
}

function broken(message: string, reason: KvTransferErrorReason): KvTransferError {
  return new KvTransferError(message, { reason });
}
