/**
 * The portable attention kernel, and the oracle the native kernel is tested
 * against: the contract (attention-kernel.ts) written as directly as
 * possible, one (row, Q head) at a time, in f64.
 *
 * For each row and Q head: score positions 0 … rowPos against K, subtract
 * the maximum, exponentiate, and average the V rows with those weights. With
 * selective V (0 < topk < positions) only the topk best positions are kept
 * (ties: the earlier position) and the softmax is renormalised over them.
 * With topk ≥ positions the selective branch is never entered, so the result
 * is the full-attention result bit for bit.
 *
 * 16-bit arenas (bf16, f16): each K or V row is widened to f32 (exactly, see
 * widen-16-bit.ts) into a scratch row before it is used, so the arithmetic is
 * the f32 arenas' on the widened values; f32 arenas are read in place.
 *
 * NOTE: plain JS loops run at about 1.7 GFLOP/s whatever the data size, so
 * this kernel is compute-bound and hides DiffQKV's byte savings; it is the
 * fallback where the native addon is not built, not the fast path.
 */
import { elementBytes, headsRead, keyHeadOf, keySlotFloats, valueHeadOf, valueSlotFloats } from "./attention-heads.js";
import type { AttentionArenas, AttentionBatch, AttentionKernel, AttentionReadStats, AttentionShape, KvElementType } from "./attention-kernel.js";
import { validateAttentionInputs } from "./validate-attention-inputs.js";
import { widenInto, widenTable } from "./widen-16-bit.js";

export class JsPagedAttention implements AttentionKernel {
  readonly name = "js";

  attend(shape: AttentionShape, arenas: AttentionArenas, batch: AttentionBatch): AttentionReadStats {
    const maxPositions = validateAttentionInputs(shape, arenas, batch);
    const { numQueryHeads: nq, numKeyHeads: nk, numValueHeads: nv, headDim: d, blockSizeTokens: bs } = shape;
    const kSlot = keySlotFloats(shape);
    const vSlot = valueSlotFloats(shape);
    const scale = 1 / Math.sqrt(d);
    const scores = new Float64Array(maxPositions);
    const acc = new Float64Array(d);
    const stats: AttentionReadStats = { vBytesDevice: 0, vBytesHost: 0, kBytes: 0 };
    const kRowBytes = d * elementBytes(arenas.kDtype);
    const vRowBytes = d * elementBytes(arenas.vDtype);
    const heads = headsRead(shape);
    const kRows = new RowReader(arenas.kDtype, d);
    const vRows = new RowReader(arenas.vDtype, d);

    for (let r = 0; r < batch.rowSeq.length; r++) {
      const first = batch.seqBlockStart[batch.rowSeq[r]!]!;
      const positions = batch.rowPos[r]! + 1;
      const selective = batch.topk > 0 && batch.topk < positions;
      // Where position p's K and V rows of (layer, head) start in their arenas.
      const kAt = (p: number, kHead: number) => batch.blockKSlot[first + Math.floor(p / bs)]! * kSlot + ((batch.layer * nk + kHead) * bs + (p % bs)) * d;
      const vAt = (p: number, vHead: number) => batch.blockVSlot[first + Math.floor(p / bs)]! * vSlot + ((batch.layer * nv + vHead) * bs + (p % bs)) * d;
      const vArena = (p: number) => (batch.blockVTier[first + Math.floor(p / bs)] === 0 ? arenas.vDevice : arenas.vHost);

      for (let h = 0; h < nq; h++) {
        const qAt = (r * nq + h) * d;
        const kHead = keyHeadOf(shape, h);
        const vHead = valueHeadOf(shape, h);
        let max = -Infinity;
        for (let p = 0; p < positions; p++) {
          const kArena = kRows.read(arenas.kDevice, kAt(p, kHead));
          const k = kRows.offset;
          let dot = 0;
          for (let i = 0; i < d; i++) dot += batch.q[qAt + i]! * kArena[k + i]!;
          scores[p] = dot * scale;
          if (scores[p]! > max) max = scores[p]!;
        }
        const kept = selective ? topPositions(scores, positions, batch.topk) : null;
        const count = kept === null ? positions : kept.length;
        acc.fill(0);
        let denominator = 0;
        for (let n = 0; n < count; n++) {
          const p = kept === null ? n : kept[n]!;
          const w = Math.exp(scores[p]! - max);
          denominator += w;
          const arena = vRows.read(vArena(p), vAt(p, vHead));
          const v = vRows.offset;
          for (let i = 0; i < d; i++) acc[i]! += w * arena[v + i]!;
          if (kept !== null) countV(stats, batch.blockVTier[first + Math.floor(p / bs)]!, vRowBytes);
        }
        for (let i = 0; i < d; i++) batch.out[qAt + i] = acc[i]! / denominator;
      }

      stats.kBytes += heads.keyHeads * positions * kRowBytes;
      if (!selective) {
        // Full attention reads each V row once per V head (see attention-heads.ts).
        for (let p = 0; p < positions; p++) countV(stats, batch.blockVTier[first + Math.floor(p / bs)]!, heads.valueHeads * vRowBytes);
      }
    }
    return stats;
  }
}

/**
 * One row of an arena as f32 values: an f32 arena is returned as it is (the
 * row at `offset` = the row's start), a 16-bit one widened into a scratch row
 * (`offset` = 0). Valid until the next read.
 */
class RowReader {
  offset = 0;
  private readonly table: Float32Array | null;
  private readonly row: Float32Array;

  constructor(type: KvElementType, d: number) {
    this.table = type === "f32" ? null : widenTable(type);
    this.row = new Float32Array(this.table === null ? 0 : d);
  }

  read(arena: Float32Array | Uint16Array, at: number): Float32Array {
    if (this.table === null) {
      this.offset = at;
      return arena as Float32Array;
    }
    widenInto(this.row, arena as Uint16Array, at, this.row.length, this.table);
    this.offset = 0;
    return this.row;
  }
}

function countV(stats: AttentionReadStats, tier: number, bytes: number): void {
  if (tier === 0) stats.vBytesDevice += bytes;
  else stats.vBytesHost += bytes;
}

/** The `topk` highest of scores[0 … positions-1] (ties: the earlier position), in ascending position order. */
export function topPositions(scores: Float64Array, positions: number, topk: number): Int32Array {
  const order = Array.from({ length: positions }, (_, p) => p);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return Int32Array.from(order.slice(0, topk)).sort();
}
