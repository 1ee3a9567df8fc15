/**
 * The contract between the batch step and an attention kernel.
 *
 * A step's rows are tokens from several sequences (prefill chunks and
 * decodes together). Row r is the query of sequence rowSeq[r] at position
 * rowPos[r]; it attends causally to that sequence's positions 0 … rowPos[r],
 * whose K and V rows are already written in the paged pools. Block j of
 * sequence s is entry seqBlockStart[s] + j of the block arrays; position p
 * lies in block floor(p / blockSize) at offset p % blockSize.
 *
 * Pool layout (one slot per block): K slot = [layers][n_k][blockSize][d],
 * V slot = [layers][n_v][blockSize][d], one element per value. K is always on
 * the device arena; V is on the device or the host arena per block
 * (selective-V mode). Each component is stored in f32, bf16 or f16 (V's two
 * tiers share V's type); a 16-bit arena holds the raw bit patterns, and a
 * kernel widens each element to f32 (exactly) as it reads it, then computes
 * as it does for f32 arenas.
 *
 * Q head i reads K head floor(i·n_k/n_q) and V head floor(i·n_v/n_q), scale
 * 1/sqrt(d). With topk > 0, each (row, Q head) scores every position with K,
 * keeps the topk highest scores (ties: the earlier position wins), renormalises
 * the softmax over the kept positions, and reads only those V rows. A topk of
 * at least the number of attended positions must give exactly (bit for bit)
 * the full-attention result.
 *
 * Determinism: a row's output must depend only on its own query and the
 * cache contents it reads, never on the other rows of the batch, the number
 * of threads, or how the prompt was chunked into steps.
 */
export interface AttentionShape {
  numLayers: number;
  numQueryHeads: number;
  numKeyHeads: number;
  numValueHeads: number;
  headDim: number;
  blockSizeTokens: number;
}

export interface AttentionBatch {
  /** Layer index (selects the layer's slice inside each slot). */
  layer: number;
  /** Queries, [rows, n_q·d] (after augmented Q and RoPE). */
  q: Float32Array;
  /** Output, [rows, n_q·d]; fully overwritten. */
  out: Float32Array;
  /** Per row: index of its sequence. */
  rowSeq: Int32Array;
  /** Per row: its position; it attends to 0 … rowPos. */
  rowPos: Int32Array;
  /** Per sequence s: its blocks are entries seqBlockStart[s] … seqBlockStart[s+1]-1 (length numSeqs + 1). */
  seqBlockStart: Int32Array;
  /** Per block entry: K slot in the device K arena. */
  blockKSlot: Int32Array;
  /** Per block entry: V slot in the arena blockVTier says (0 = device, 1 = host). */
  blockVSlot: Int32Array;
  blockVTier: Uint8Array;
  /** 0 = full attention; otherwise the selective-V top-k per (row, Q head). */
  topk: number;
}

/**
 * How a pool stores one element: f32, or the top half of an f32 (bf16: 8-bit
 * exponent, 7-bit mantissa), or IEEE binary16 (f16). NOTE: the kernel's own
 * name for kvcache's KvDtype (the same three strings), so the kernel contract
 * does not depend on kvcache's types.
 */
export type KvElementType = "f32" | "bf16" | "f16";

export interface AttentionArenas {
  /** Element type of the K arena. */
  kDtype: KvElementType;
  /** Element type of both V arenas. */
  vDtype: KvElementType;
  /** The whole device K arena: a Float32Array iff kDtype is "f32", else a Uint16Array of bit patterns. */
  kDevice: Float32Array | Uint16Array;
  /** The whole device V arena (array type as for kDevice, by vDtype). */
  vDevice: Float32Array | Uint16Array;
  /** The whole host V arena (empty when the pool has no host tier for V). */
  vHost: Float32Array | Uint16Array;
}

/**
 * Bytes of V rows the call read from each tier, and of K rows.
 *
 * Accounting (head_dim × the stored element's width per row read: 4 bytes
 * for f32, 2 for bf16 and f16): each (row, K head) reads its
 * positions' K rows once, for all the Q heads mapped to that K head; in full
 * attention each (row, V head) reads its positions' V rows once, likewise;
 * with selective V each (row, Q head) reads its own topk V rows (a row kept
 * by two Q heads counts twice). So with f32 arenas a decode step of full
 * attention reads rows·positions·(n_k + n_v)·d·4 bytes, and selective V reads
 * rows·n_q·topk·d·4 bytes of V.
 */
export interface AttentionReadStats {
  vBytesDevice: number;
  vBytesHost: number;
  kBytes: number;
}

export interface AttentionKernel {
  readonly name: string;
  attend(shape: AttentionShape, arenas: AttentionArenas, batch: AttentionBatch): AttentionReadStats;
}
