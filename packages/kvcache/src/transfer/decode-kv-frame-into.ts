/**
 * Imports a KV frame straight into the caller's memory (its pool slots), with
 * no intermediate copy. The header and table are checked first (a broken frame
 * throws before anything is written). Then, block by block: the checksum of the
 * block's wire bytes is computed and compared with the table; a mismatch
 * refuses the block (it is listed, the destination is never asked for, nothing
 * is written) and the next block goes on. Only a verified block asks the
 * caller for its destination; `null` skips it (e.g. the importer has it
 * already). A refused block must be recomputed, never used.
 */
import type { BlockHash, KvComponent } from "../kv-types.js";
import { KvTransferError } from "./errors.js";
import { frameChecksum } from "./frame-checksum.js";
import { formatBlockHash, formatCrc, type KvFrameExpectation, type KvFrameShape, type KvRefusedBlock, type KvWireDtype } from "./kv-frame-layout.js";
import { readPayload } from "./payload-codec.js";
import { readKvFrameHeader, type KvFrameHeader } from "./read-kv-frame-header.js";

/** Where block `index` (already verified) goes: exactly elementsPerBlock floats, or null to skip it. */
export type KvFrameDestination = (index: number, hash: BlockHash) => Float32Array | null;

export interface KvFrameImport {
  component: KvComponent;
  wireDtype: KvWireDtype;
  shape: KvFrameShape;
  /** Blocks verified and written, in frame order. */
  written: { index: number; hash: BlockHash }[];
  /** Blocks verified and declined by the destination (it returned null). */
  skipped: { index: number; hash: BlockHash }[];
  /** Blocks whose checksum failed: not written. */
  refused: KvRefusedBlock[];
}

export function decodeKvFrameInto(bytes: Uint8Array, dest: KvFrameDestination, expected?: KvFrameExpectation): KvFrameImport {
  return importFrameBlocks(bytes, readKvFrameHeader(bytes, expected), dest);
}

/** The block loop, for a frame whose header `readKvFrameHeader` has checked. */
export function importFrameBlocks(bytes: Uint8Array, header: KvFrameHeader, dest: KvFrameDestination): KvFrameImport {
  const { payloadBytesPerBlock, elementsPerBlock } = header;
  const result: KvFrameImport = { component: header.component, wireDtype: header.wireDtype, shape: header.shape, written: [], skipped: [], refused: [] };
  for (let index = 0; index < header.blockCount; index++) {
    const hash = header.hashes[index] ?? 0n;
    const stored = header.payloadCrcs[index] ?? 0;
    const offset = header.payloadOffset + index * payloadBytesPerBlock;
    const wire = bytes.subarray(offset, offset + payloadBytesPerBlock);
    const computed = frameChecksum(header.version, wire);
    if (computed !== stored) {
      result.refused.push({ index, hash, reason: `block ${formatBlockHash(hash)} checksum mismatch (stored ${formatCrc(stored)}, computed ${formatCrc(computed)})` });
      continue;
    }
    const target = dest(index, hash);
    if (target === null) {
      result.skipped.push({ index, hash });
      continue;
    }
    if (target.length !== elementsPerBlock) {
      throw new KvTransferError(`destination for block ${index} (${formatBlockHash(hash)}) has ${target.length} values, the frame's blocks have ${elementsPerBlock}`, {
        reason: "destination-length",
      });
    }
    readPayload(header.wireDtype, wire, target);
    result.written.push({ index, hash });
  }
  return result;
}
