/**
 * The Q→K and Q→V head mapping of the contract, and the byte accounting that
 * follows from it.
 *
 * Q head i reads K head floor(i·n_k/n_q) and V head floor(i·n_v/n_q). A fast
 * kernel reads each K row once for all the Q heads of its K head, and (full
 * attention) each V row once for all the Q heads of its V head, so the bytes
 * a row costs are positions · (distinct K heads · K's element bytes + distinct
 * V heads · V's element bytes) · d. Both kernels report that figure, so their
 * read stats are comparable.
 */
import type { AttentionShape, KvElementType } from "./attention-kernel.js";

/** Bytes one stored element takes: 4 for f32, 2 for bf16 and f16. */
export function elementBytes(type: KvElementType): number {
  return type === "f32" ? 4 : 2;
}

export function keyHeadOf(shape: AttentionShape, queryHead: number): number {
  return Math.floor((queryHead * shape.numKeyHeads) / shape.numQueryHeads);
}

export function valueHeadOf(shape: AttentionShape, queryHead: number): number {
  return Math.floor((queryHead * shape.numValueHeads) / shape.numQueryHeads);
}

/** How many K heads and V heads some Q head reads (all of them unless a pool has more heads than Q). */
export function headsRead(shape: AttentionShape): { keyHeads: number; valueHeads: number } {
  const keys = new Set<number>();
  const values = new Set<number>();
  for (let i = 0; i < shape.numQueryHeads; i++) {
    keys.add(keyHeadOf(shape, i));
    values.add(valueHeadOf(shape, i));
  }
  return { keyHeads: keys.size, valueHeads: values.size };
}

/** Elements of one K slot: [layers][n_k][blockSize][d]. */
export function keySlotFloats(shape: AttentionShape): number {
  return shape.numLayers * shape.numKeyHeads * shape.blockSizeTokens * shape.headDim;
}

/** Elements of one V slot: [layers][n_v][blockSize][d]. */
export function valueSlotFloats(shape: AttentionShape): number {
  return shape.numLayers * shape.numValueHeads * shape.blockSizeTokens * shape.headDim;
}
