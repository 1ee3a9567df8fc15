/**
 * The shapes and batches the kernel tests share: several sequences of
 * different lengths, many blocks each, prefill-style rows (several positions
 * of one sequence in one batch) next to decode rows.
 */
import type { AttentionShape } from "../attention-kernel.js";
import { randomPagedCase, type PagedCase, type RowSpec } from "./paged-cache-fixture.js";

/** DiffQKV: one K head for 8 Q heads, 4 V heads. */
export const DIFFQKV_SHAPE: AttentionShape = { numLayers: 2, numQueryHeads: 8, numKeyHeads: 1, numValueHeads: 4, headDim: 16, blockSizeTokens: 4 };
/** GQA: 2 Q heads per K/V head. */
export const GQA_SHAPE: AttentionShape = { numLayers: 2, numQueryHeads: 8, numKeyHeads: 4, numValueHeads: 4, headDim: 16, blockSizeTokens: 4 };
/** The sigma-1.5b attention shape (n_q 32, n_k 4, n_v 16, d 64), block size 16. */
export const SIGMA_SHAPE: AttentionShape = { numLayers: 2, numQueryHeads: 32, numKeyHeads: 4, numValueHeads: 16, headDim: 64, blockSizeTokens: 16 };

export const SEQ_LENGTHS = [37, 9, 64, 1];

/** Prefill rows of sequence 0 (positions 30 … 36), decodes of 1, 2, 3, and a mid-prompt row of 2. */
export const ROWS: RowSpec[] = [
  ...Array.from({ length: 7 }, (_, i) => ({ seq: 0, pos: 30 + i })),
  { seq: 1, pos: 8 },
  { seq: 2, pos: 63 },
  { seq: 3, pos: 0 },
  { seq: 2, pos: 17 },
];

export function standardCase(shape: AttentionShape, seed: number, topk = 0): PagedCase {
  return randomPagedCase({ shape, seqLengths: SEQ_LENGTHS, rows: ROWS, layer: 1, topk, hostVFraction: 0.3, seed });
}
