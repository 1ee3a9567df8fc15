/**
 * Attention computed from the fixture's contiguous per-sequence K and V,
 * with no block tables at all: the independent reference the paged kernels
 * are checked against. f64 throughout.
 */
import type { PagedCase } from "./paged-cache-fixture.js";

export function denseAttention(c: PagedCase, topk: number): Float64Array {
  const { numQueryHeads: nq, numKeyHeads: nk, numValueHeads: nv, headDim: d } = c.shape;
  const layer = c.batch.layer;
  const out = new Float64Array(c.rows.length * nq * d);
  c.rows.forEach(({ seq, pos }, r) => {
    const keys = c.keys[seq]!;
    const values = c.values[seq]!;
    const length = keys.length / (c.shape.numLayers * nk * d);
    for (let h = 0; h < nq; h++) {
      const kh = Math.floor((h * nk) / nq);
      const vh = Math.floor((h * nv) / nq);
      const q = c.batch.q.subarray((r * nq + h) * d, (r * nq + h + 1) * d);
      const scores: number[] = [];
      for (let p = 0; p <= pos; p++) {
        const k = keys.subarray(((layer * nk + kh) * length + p) * d, ((layer * nk + kh) * length + p + 1) * d);
        let s = 0;
        for (let i = 0; i < d; i++) s += q[i]! * k[i]!;
        scores.push(s / Math.sqrt(d));
      }
      let kept = scores.map((_, p) => p);
      if (topk > 0 && topk < scores.length) {
        kept = [...kept].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, topk);
      }
      const max = Math.max(...kept.map((p) => scores[p]!));
      const weights = kept.map((p) => Math.exp(scores[p]! - max));
      const total = weights.reduce((a, b) => a + b, 0);
      kept.forEach((p, n) => {
        const v = values.subarray(((layer * nv + vh) * length + p) * d, ((layer * nv + vh) * length + p + 1) * d);
        for (let i = 0; i < d; i++) out[(r * nq + h) * d + i]! += (weights[n]! / total) * v[i]!;
      });
    }
  });
  return out;
}

/** Largest |a[i] - b[i]|; NaN anywhere makes it NaN (an unwritten output). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - b[i]!);
    if (!(diff <= max)) max = diff;
  }
  return max;
}

/**
 * Largest error relative to the output's scale: over each (row, head) vector
 * of `d` values, max |a - b| / max |b|. (An attention output is a weighted
 * mean of V rows, so single elements near 0 are cancellation, not signal.)
 */
export function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>, d: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let start = 0; start < b.length; start += d) {
    let diff = 0;
    let scale = 0;
    for (let i = start; i < start + d; i++) {
      const e = Math.abs(a[i]! - b[i]!);
      if (!(e <= diff)) diff = e;
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    const relative = diff === 0 ? 0 : diff / scale;
    if (!(relative <= max)) max = relative;
  }
  return max;
}

/** Whether two float arrays hold the same bits. */
export function bitIdentical(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
