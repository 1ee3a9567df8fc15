/** The KV transfer format: one component's blocks in a checksummed, self-describing frame. */
export { KvTransferError, type KvTransferErrorReason } from "./errors.js";
export { encodeKvFrame, type EncodeKvFrameOptions, type KvFrameInput } from "./encode-kv-frame.js";
export { decodeKvFrame, type DecodedKvFrame } from "./decode-kv-frame.js";
export { decodeKvFrameInto, type KvFrameDestination, type KvFrameImport } from "./decode-kv-frame-into.js";
export { readKvFrameHeader, type KvFrameHeader } from "./read-kv-frame-header.js";
export {
  KV_FRAME_HEADER_BYTES,
  KV_FRAME_TABLE_CRC_BYTES,
  KV_FRAME_TABLE_ENTRY_BYTES,
  KV_FRAME_VERSION,
  formatBlockHash,
  kvFrameByteLength,
  kvFrameShape,
  type KvFrameBlock,
  type KvFrameExpectation,
  type KvFrameShape,
  type KvRefusedBlock,
  type KvWireDtype,
} from "./kv-frame-layout.js";
