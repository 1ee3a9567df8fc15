/**
 * The attention bench's K/V pools: real kvcache pools (HostArenaStorage, in
 * the dtype under test), read through a KvCacheManager's attention view as
 * the model runner reads them, filled with random values, and one request
 * holding every block, its table shuffled as a pool's tables look after churn.
 */
import { KvCacheManager, bf16BitsFromF32Bits, f16BitsFromF32Bits, type KvDtype, type KvModelShape } from "@sigmaserve/kvcache";
import type { AttentionArenas, AttentionBatch, AttentionShape } from "@sigmaserve/engine";

const MIB = 2 ** 20;
/** Elements of the random fill pattern (a JS random per element would take minutes at these sizes). */
const PATTERN_ELEMENTS = 4 * MIB;

export interface BenchPool {
  shape: AttentionShape;
  arenas: AttentionArenas;
  /** Elements per slot of K and of V. */
  kSlotElements: number;
  vSlotElements: number;
  /** Every block's K and V slot, in shuffled table order. */
  kSlot: Int32Array;
  vSlot: Int32Array;
}

/** Bytes one decode step (all layers) reads over `ctx` positions of `batch` rows. */
export function stepBytes(shape: AttentionShape, dtype: KvDtype, ctx: number, batch: number): number {
  const width = dtype === "f32" ? 4 : 2;
  return batch * ctx * shape.numLayers * (shape.numKeyHeads + shape.numValueHeads) * shape.headDim * width;
}

/** The f32 values in [-1, 1) of the pattern, stored as `dtype` elements. */
function fillPattern(dtype: KvDtype, random: () => number): Float32Array | Uint16Array {
  const values = Float32Array.from({ length: PATTERN_ELEMENTS + 7 }, () => random() * 2 - 1);
  if (dtype === "f32") return values;
  const bits = new Uint32Array(values.buffer);
  const narrow = dtype === "bf16" ? bf16BitsFromF32Bits : f16BitsFromF32Bits;
  return Uint16Array.from(bits, (b) => narrow(b));
}

export function buildPool(shape: AttentionShape, dtype: KvDtype, numBlocks: number, random: () => number): BenchPool {
  const kvShape: KvModelShape = { num_hidden_layers: shape.numLayers, num_key_heads: shape.numKeyHeads, num_value_heads: shape.numValueHeads, head_dim: shape.headDim };
  const width = dtype === "f32" ? 4 : 2;
  const kSlotElements = shape.numLayers * shape.numKeyHeads * shape.blockSizeTokens * shape.headDim;
  const vSlotElements = shape.numLayers * shape.numValueHeads * shape.blockSizeTokens * shape.headDim;
  const kv = new KvCacheManager({
    shape: kvShape,
    blockSizeTokens: shape.blockSizeTokens,
    modelId: "bench",
    dtype: { k: dtype, v: dtype },
    bytes: { k: { device: numBlocks * kSlotElements * width, host: 0 }, v: { device: numBlocks * vSlotElements * width, host: 0 } },
  });
  const view = kv.attentionView();
  const arenas: AttentionArenas = { kDtype: view.dtype.k, vDtype: view.dtype.v, kDevice: view.kDevice, vDevice: view.vDevice, vHost: view.vHost };
  const pattern = fillPattern(dtype, random);
  for (const arena of [arenas.kDevice, arenas.vDevice]) {
    for (let at = 0, shift = 0; at < arena.length; at += PATTERN_ELEMENTS, shift = (shift + 1) % 7) {
      const n = Math.min(PATTERN_ELEMENTS, arena.length - at);
      if (arena instanceof Float32Array) arena.set((pattern as Float32Array).subarray(shift, shift + n), at);
      else arena.set((pattern as Uint16Array).subarray(shift, shift + n), at);
    }
  }
  if (kv.allocate("all", { promptTokens: [], numNewTokens: numBlocks * shape.blockSizeTokens }) === null) throw new Error("bench pool too small");
  const slots = { kSlot: new Int32Array(numBlocks), vSlot: new Int32Array(numBlocks), vTier: new Uint8Array(numBlocks) };
  view.fillBlockSlots("all", slots, 0);
  const order = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return {
    shape,
    arenas,
    kSlotElements,
    vSlotElements,
    kSlot: Int32Array.from(order, (entry) => slots.kSlot[entry]!),
    vSlot: Int32Array.from(order, (entry) => slots.vSlot[entry]!),
  };
}

/** A decode step's batch: `batch` sequences of `ctx` tokens (the pool's first blocks), each querying its last position. */
export function decodeBatch(pool: BenchPool, ctx: number, batch: number, topk: number, random: () => number): AttentionBatch {
  const { shape } = pool;
  const blocksPerSeq = ctx / shape.blockSizeTokens;
  const rowFloats = shape.numQueryHeads * shape.headDim;
  return {
    layer: 0,
    q: Float32Array.from({ length: batch * rowFloats }, () => random() * 2 - 1),
    out: new Float32Array(batch * rowFloats),
    rowSeq: Int32Array.from({ length: batch }, (_, i) => i),
    rowPos: new Int32Array(batch).fill(ctx - 1),
    seqBlockStart: Int32Array.from({ length: batch + 1 }, (_, i) => i * blocksPerSeq),
    blockKSlot: pool.kSlot.subarray(0, batch * blocksPerSeq),
    blockVSlot: pool.vSlot.subarray(0, batch * blocksPerSeq),
    blockVTier: new Uint8Array(batch * blocksPerSeq),
    topk,
  };
}
