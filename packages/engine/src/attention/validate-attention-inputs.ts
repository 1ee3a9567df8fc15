/**
 * One check of an attend() call, shared by every kernel, run before anything
 * is written: each index a kernel will follow (sequence, block entry, slot,
 * tier) must land inside its array. The native kernel checks the same again
 * in C++ (it must never read out of bounds), but this is where the caller
 * gets a typed error that names the field. Cost: O(rows + block entries).
 * Each arena's array type must match its element type (a Float32Array for
 * "f32", a Uint16Array of bit patterns for "bf16" and "f16"): a mismatch would
 * make a kernel read the bytes as the wrong type.
 */
import { AttentionInputError } from "./attention-errors.js";
import { keySlotFloats, valueSlotFloats } from "./attention-heads.js";
import type { AttentionArenas, AttentionBatch, AttentionShape, KvElementType } from "./attention-kernel.js";

const SHAPE_FIELDS = ["numLayers", "numQueryHeads", "numKeyHeads", "numValueHeads", "headDim", "blockSizeTokens"] as const;
const ELEMENT_TYPES: readonly string[] = ["f32", "bf16", "f16"] satisfies KvElementType[];

/** The largest row position + 1 in the batch (0 for an empty batch). */
export function validateAttentionInputs(shape: AttentionShape, arenas: AttentionArenas, batch: AttentionBatch): number {
  for (const field of SHAPE_FIELDS) {
    const value = shape[field];
    if (!Number.isInteger(value) || value <= 0 || value > 0x7fffffff) throw new AttentionInputError(`shape.${field}`, `must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(batch.layer) || batch.layer < 0 || batch.layer >= shape.numLayers) {
    throw new AttentionInputError("batch.layer", `must be an integer in 0 … ${shape.numLayers - 1}, got ${batch.layer}`);
  }
  if (!Number.isInteger(batch.topk) || batch.topk < 0 || batch.topk > 0x7fffffff) throw new AttentionInputError("batch.topk", `must be a non-negative integer, got ${batch.topk}`);

  const rows = batch.rowSeq.length;
  const rowFloats = shape.numQueryHeads * shape.headDim;
  if (batch.rowPos.length !== rows) throw new AttentionInputError("batch.rowPos", `has ${batch.rowPos.length} entries for ${rows} rows`);
  if (batch.q.length !== rows * rowFloats) throw new AttentionInputError("batch.q", `must hold rows·n_q·d = ${rows * rowFloats} floats, got ${batch.q.length}`);
  if (batch.out.length !== rows * rowFloats) throw new AttentionInputError("batch.out", `must hold rows·n_q·d = ${rows * rowFloats} floats, got ${batch.out.length}`);
  if (overlaps(batch.q, batch.out)) throw new AttentionInputError("batch.out", "must not share memory with batch.q");

  const entries = batch.blockKSlot.length;
  if (batch.blockVSlot.length !== entries) throw new AttentionInputError("batch.blockVSlot", `has ${batch.blockVSlot.length} entries, blockKSlot has ${entries}`);
  if (batch.blockVTier.length !== entries) throw new AttentionInputError("batch.blockVTier", `has ${batch.blockVTier.length} entries, blockKSlot has ${entries}`);
  const numSeqs = batch.seqBlockStart.length - 1;
  if (numSeqs < 0) throw new AttentionInputError("batch.seqBlockStart", "must have numSeqs + 1 entries");
  for (let s = 0; s < numSeqs; s++) {
    const start = batch.seqBlockStart[s]!;
    const end = batch.seqBlockStart[s + 1]!;
    if (start < 0 || end < start || end > entries) throw new AttentionInputError("batch.seqBlockStart", `sequence ${s} spans entries ${start} … ${end - 1}, outside 0 … ${entries - 1} or reversed`);
  }

  let maxPositions = 0;
  for (let r = 0; r < rows; r++) {
    const seq = batch.rowSeq[r]!;
    const pos = batch.rowPos[r]!;
    if (seq < 0 || seq >= numSeqs) throw new AttentionInputError("batch.rowSeq", `row ${r} names sequence ${seq} of ${numSeqs}`);
    const blocks = batch.seqBlockStart[seq + 1]! - batch.seqBlockStart[seq]!;
    if (pos < 0 || Math.floor(pos / shape.blockSizeTokens) >= blocks) {
      throw new AttentionInputError("batch.rowPos", `row ${r} is at position ${pos}, but sequence ${seq} has ${blocks} blocks of ${shape.blockSizeTokens}`);
    }
    maxPositions = Math.max(maxPositions, pos + 1);
  }

  validateArenaTypes(arenas);
  const kSlots = Math.floor(arenas.kDevice.length / keySlotFloats(shape));
  const vSlots = [Math.floor(arenas.vDevice.length / valueSlotFloats(shape)), Math.floor(arenas.vHost.length / valueSlotFloats(shape))] as const;
  for (let e = 0; e < entries; e++) {
    const k = batch.blockKSlot[e]!;
    if (k < 0 || k >= kSlots) throw new AttentionInputError("batch.blockKSlot", `entry ${e} is slot ${k}, the K arena has ${kSlots}`);
    const tier = batch.blockVTier[e]!;
    if (tier !== 0 && tier !== 1) throw new AttentionInputError("batch.blockVTier", `entry ${e} is ${tier}, neither 0 (device) nor 1 (host)`);
    const v = batch.blockVSlot[e]!;
    if (v < 0 || v >= vSlots[tier]) throw new AttentionInputError("batch.blockVSlot", `entry ${e} is slot ${v}, the ${tier === 0 ? "device" : "host"} V arena has ${vSlots[tier]}`);
  }
  return maxPositions;
}

function validateArenaTypes(arenas: AttentionArenas): void {
  for (const [field, type] of [["arenas.kDtype", arenas.kDtype], ["arenas.vDtype", arenas.vDtype]] as const) {
    if (!ELEMENT_TYPES.includes(type)) throw new AttentionInputError(field, `must be one of ${ELEMENT_TYPES.join(", ")}, got ${String(type)}`);
  }
  for (const [field, array, type] of [
    ["arenas.kDevice", arenas.kDevice, arenas.kDtype],
    ["arenas.vDevice", arenas.vDevice, arenas.vDtype],
    ["arenas.vHost", arenas.vHost, arenas.vDtype],
  ] as const) {
    const expected = type === "f32" ? Float32Array : Uint16Array;
    if (!(array instanceof expected)) throw new AttentionInputError(field, `holds ${type} elements, so it must be a ${expected.name}, got ${(array as object).constructor.name}`);
  }
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer || a.length === 0 || b.length === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
