/**
 * Random attention cases for the kernel tests: each sequence's K and V are
 * generated contiguously first (what a dense reference reads), then scattered
 * into paged arenas the way a busy pool leaves them: block slots shuffled and
 * non-contiguous, spare slots full of unrelated values, some V blocks on the
 * host arena. K and V may be stored in bf16 or f16: the values are then
 * truncated to what the type holds (with some subnormals and signed zeros
 * mixed in), so the contiguous copies hold exactly the values a kernel reads
 * after widening.
 */
import { keySlotFloats, valueSlotFloats } from "../attention-heads.js";
import type { AttentionArenas, AttentionBatch, AttentionShape, KvElementType } from "../attention-kernel.js";
import { quantize } from "./element-bits.js";

/** mulberry32: a small deterministic PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RowSpec {
  seq: number;
  pos: number;
}

export interface PagedCaseOptions {
  shape: AttentionShape;
  /** Tokens in the cache per sequence. */
  seqLengths: number[];
  rows: RowSpec[];
  layer: number;
  topk?: number;
  /** Share of V blocks placed on the host arena (at least one when > 0). */
  hostVFraction?: number;
  /** Scale of the query values (larger: a peakier softmax). */
  queryScale?: number;
  /** Element types of the K and V arenas; default f32. */
  kDtype?: KvElementType;
  vDtype?: KvElementType;
  seed: number;
}

export interface PagedCase {
  shape: AttentionShape;
  arenas: AttentionArenas;
  batch: AttentionBatch;
  rows: RowSpec[];
  /** Per sequence, contiguous: [layers][n_k][length][d]. */
  keys: Float32Array[];
  /** Per sequence, contiguous: [layers][n_v][length][d]. */
  values: Float32Array[];
  /** The same arenas in f32, holding the widened values (`arenas` itself when both types are f32). */
  f32Arenas: AttentionArenas;
}

function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function randomArray(length: number, random: () => number, scale = 1): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = (random() * 2 - 1) * scale;
  return a;
}

export function randomPagedCase(options: PagedCaseOptions): PagedCase {
  const { shape, seqLengths, rows, layer } = options;
  const { numLayers: L, numKeyHeads: nk, numValueHeads: nv, headDim: d, blockSizeTokens: bs } = shape;
  const random = prng(options.seed);
  const kDtype = options.kDtype ?? "f32";
  const vDtype = options.vDtype ?? "f32";
  const keys = seqLengths.map((n) => representable(randomArray(L * nk * n * d, random), kDtype));
  const values = seqLengths.map((n) => representable(randomArray(L * nv * n * d, random), vDtype));

  const blocksPerSeq = seqLengths.map((n) => Math.ceil(n / bs));
  const totalBlocks = blocksPerSeq.reduce((a, b) => a + b, 0);
  const hostFraction = options.hostVFraction ?? 0;
  const tiers = Array.from({ length: totalBlocks }, () => (random() < hostFraction ? 1 : 0));
  if (hostFraction > 0 && !tiers.includes(1) && totalBlocks > 0) tiers[0] = 1;
  const spare = 3;
  const kSlots = shuffled(totalBlocks + spare, random);
  const vSlots = [shuffled(totalBlocks + spare, random), shuffled(totalBlocks + spare, random)] as const;
  const arenas = {
    kDevice: randomArray((totalBlocks + spare) * keySlotFloats(shape), random),
    vDevice: randomArray((totalBlocks + spare) * valueSlotFloats(shape), random),
    vHost: hostFraction > 0 ? randomArray((totalBlocks + spare) * valueSlotFloats(shape), random) : new Float32Array(0),
  };

  const seqBlockStart = new Int32Array(seqLengths.length + 1);
  const blockKSlot = new Int32Array(totalBlocks);
  const blockVSlot = new Int32Array(totalBlocks);
  const blockVTier = new Uint8Array(totalBlocks);
  let entry = 0;
  const next = [0, 0];
  seqLengths.forEach((n, s) => {
    seqBlockStart[s] = entry;
    for (let j = 0; j < blocksPerSeq[s]!; j++, entry++) {
      const tier = tiers[entry]!;
      blockKSlot[entry] = kSlots[entry]!;
      blockVSlot[entry] = vSlots[tier]![next[tier]!++]!;
      blockVTier[entry] = tier;
      const vArena = tier === 0 ? arenas.vDevice : arenas.vHost;
      for (let p = j * bs; p < Math.min(n, (j + 1) * bs); p++) {
        for (let l = 0; l < L; l++) {
          for (let h = 0; h < nk; h++) {
            const src = ((l * nk + h) * n + p) * d;
            arenas.kDevice.set(keys[s]!.subarray(src, src + d), blockKSlot[entry]! * keySlotFloats(shape) + ((l * nk + h) * bs + (p % bs)) * d);
          }
          for (let h = 0; h < nv; h++) {
            const src = ((l * nv + h) * n + p) * d;
            vArena.set(values[s]!.subarray(src, src + d), blockVSlot[entry]! * valueSlotFloats(shape) + ((l * nv + h) * bs + (p % bs)) * d);
          }
        }
      }
    }
  });
  seqBlockStart[seqLengths.length] = entry;
  const f32Arenas: AttentionArenas = { kDtype: "f32", vDtype: "f32", ...arenas };
  // The placed values are representable already; quantizing truncates only the spare slots' values.
  const stored = (arena: Float32Array, type: KvElementType) => quantize(arena, type) ?? arena;
  const typedArenas: AttentionArenas =
    kDtype === "f32" && vDtype === "f32"
      ? f32Arenas
      : { kDtype, vDtype, kDevice: stored(arenas.kDevice, kDtype), vDevice: stored(arenas.vDevice, vDtype), vHost: stored(arenas.vHost, vDtype) };

  const rowFloats = shape.numQueryHeads * d;
  const batch: AttentionBatch = {
    layer,
    q: randomArray(rows.length * rowFloats, random, options.queryScale ?? 3),
    out: new Float32Array(rows.length * rowFloats).fill(Number.NaN),
    rowSeq: Int32Array.from(rows, (r) => r.seq),
    rowPos: Int32Array.from(rows, (r) => r.pos),
    seqBlockStart,
    blockKSlot,
    blockVSlot,
    blockVTier,
    topk: options.topk ?? 0,
  };
  return { shape, arenas: typedArenas, batch, rows, keys, values, f32Arenas };
}

/**
 * Values a `type` arena holds exactly (f32: as they are): a few replaced by
 * subnormals of the type and signed zeros, then all truncated to the type.
 */
function representable(values: Float32Array, type: KvElementType): Float32Array {
  if (type === "f32") return values;
  const subnormal = type === "f16" ? 2 ** -24 : 2 ** -133;
  for (let i = 0; i < values.length; i += 61) values[i] = [3 * subnormal, -subnormal, 0, -0][(i / 61) % 4]!;
  quantize(values, type);
  return values;
}

/** The same case's batch restricted to some of its rows (same cache, fresh output). */
export function batchOfRows(c: PagedCase, rowIndices: number[], topk = c.batch.topk): AttentionBatch {
  const rowFloats = c.shape.numQueryHeads * c.shape.headDim;
  const q = new Float32Array(rowIndices.length * rowFloats);
  rowIndices.forEach((r, i) => q.set(c.batch.q.subarray(r * rowFloats, (r + 1) * rowFloats), i * rowFloats));
  return {
    ...c.batch,
    q,
    out: new Float32Array(rowIndices.length * rowFloats).fill(Number.NaN),
    rowSeq: Int32Array.from(rowIndices, (r) => c.batch.rowSeq[r]!),
    rowPos: Int32Array.from(rowIndices, (r) => c.batch.rowPos[r]!),
    topk,
  };
}

/** A fresh output buffer and the given topk, everything else shared. */
export function withTopk(batch: AttentionBatch, topk: number): AttentionBatch {
  return { ...batch, topk, out: new Float32Array(batch.out.length).fill(Number.NaN) };
}
