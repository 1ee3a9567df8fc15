/**
 * Imports a KV frame straight into the caller's memory (its pool slots), with
 * no intermediate copy. The header and table are checked first (a broken frame
 * throws before anything is written). Then, block by block: the checksum of the
 * block's wire bytes is computed and compared with the table; a mismatch
 * refuses the block (it is listed, the destination is never asked for, nothing
 * is written) and the next block goes on. Only a verified block asks the
 * caller for its destination; `null` skips it (e.g. the importer has it
 * already). A refused block must be recomputed, never used.
 *
 * Destinations hold `destDtype` (default f32): a frame in that dtype is
 * copied as it is; any other is converted on the way in (widening exact,
 * narrowing rounded to nearest even), and the block is listed in `converted`.
 */
import { arenaMatchesDtype } from "../dtype/kv-dtype-codec.js";
import type { BlockHash, KvArena, KvComponent, KvDtype } from "../kv-types.js";
import { KvTransferError } from "./errors.js";
import { frameChecksum } from "./frame-checksum.js";
import { formatBlockHash, formatCrc, type KvFrameExpectation, type KvFrameShape, type KvRefusedBlock, type KvWireDtype } from "./kv-frame-layout.js";
import { readPayload } from "./payload-codec.js";
import { readKvFrameHeader, type KvFrameHeader } from "./read-kv-frame-header.js";

/** Where block `index` (already verified) goes: exactly elementsPerBlock values in the destination dtype, or null to skip it. */
export type KvFrameDestination = (index: number, hash: BlockHash) => KvArena | null;

export interface KvFrameImport {
  component: KvComponent;
  wireDtype: KvWireDtype;
  shape: KvFrameShape;
  /** Blocks verified and written, in frame order. */
  written: { index: number; hash: BlockHash }[];
  /** How many of `written` were converted from the frame's dtype to the destination's. */
  converted: number;
  /** Blocks verified and declined by the destination (it returned null). */
  skipped: { index: number; hash: BlockHash }[];
  /** Blocks whose checksum failed: not written. */
  refused: KvRefusedBlock[];
}

export function decodeKvFrameInto(bytes: Uint8Array, dest: KvFrameDestination, expected?: KvFrameExpectation, destDtype: KvDtype = "f32"): KvFrameImport {
  return importFrameBlocks(bytes, readKvFrameHeader(bytes, expected), dest, destDtype);
}

/** The block loop, for a frame whose header `readKvFrameHeader` has checked. */
export function importFrameBlocks(bytes: Uint8Array, header: KvFrameHeader, dest: KvFrameDestination, destDtype: KvDtype = "f32"): KvFrameImport {
  const { payloadBytesPerBlock, elementsPerBlock } = header;
  const result: KvFrameImport = { component: header.component, wireDtype: header.wireDtype, shape: header.shape, written: [], converted: 0, skipped: [], refused: [] };
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
    if (target.length !== elementsPerBlock || !arenaMatchesDtype(target, destDtype)) {
      throw new KvTransferError(`destination for block ${index} (${formatBlockHash(hash)}) is a ${target.constructor.name} of ${target.length} values; the frame's blocks have ${elementsPerBlock}, stored here as ${destDtype}`, {
        reason: "destination-length",
      });
    }
    if (readPayload(header.wireDtype, wire, target, destDtype)) result.converted++;
    result.written.push({ index, hash });
  }
  return result;
}
