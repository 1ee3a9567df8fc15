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
 * NOTE: plain JS loops run at about 1.7 GFLOP/s whatever the data size, so
 * this kernel is compute-bound and hides DiffQKV's byte savings; it is the
 * fallback where the native addon is not built, not the fast path.
 */
import { ATTENTION_ELEMENT_BYTES, headsRead, keyHeadOf, keySlotFloats, valueHeadOf, valueSlotFloats } from "./attention-heads.js";
import type { AttentionArenas, AttentionBatch, AttentionKernel, AttentionReadStats, AttentionShape } from "./attention-kernel.js";
import { validateAttentionInputs } from "./validate-attention-inputs.js";

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
    const rowBytes = d * ATTENTION_ELEMENT_BYTES;
    const heads = headsRead(shape);

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
          const k = kAt(p, kHead);
          let dot = 0;
          for (let i = 0; i < d; i++) dot += batch.q[qAt + i]! * arenas.kDevice[k + i]!;
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
          const v = vAt(p, vHead);
          const arena = vArena(p);
          for (let i = 0; i < d; i++) acc[i]! += w * arena[v + i]!;
          if (kept !== null) countV(stats, batch.blockVTier[first + Math.floor(p / bs)]!, rowBytes);
        }
        for (let i = 0; i < d; i++) batch.out[qAt + i] = acc[i]! / denominator;
      }

      stats.kBytes += heads.keyHeads * positions * rowBytes;
      if (!selective) {
        // Full attention reads each V row once per V head (see attention-heads.ts).
        for (let p = 0; p < positions; p++) countV(stats, batch.blockVTier[first + Math.floor(p / bs)]!, heads.valueHeads * rowBytes);
      }
    }
    return stats;
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
