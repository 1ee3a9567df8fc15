/**
 * attention benchmark: one decode step (one query row per sequence, 2
 * layers) of paged attention over block pools, DiffQKV (sigma-1.5b: n_q 32,
 * n_k 4, n_v 16, d 64) against GQA (std-1.5b: 32/16/16), block size 16.
 *
 * A step reads batch·ctx·layers·(n_k+n_v)·d·4 bytes of K and V, so DiffQKV
 * reads 20/32 of GQA's bytes; a kernel that streams at memory speed shows
 * that as time. The pools are real kvcache pools (HostArenaStorage), read
 * through a KvCacheManager's attention view as the model runner reads them,
 * with each sequence's blocks taken in shuffled order, as a pool looks after
 * churn. Before every timed step the L3 (260 MiB) is flushed by copying
 * 256 MiB (512 MiB of traffic), because in a real model the other layers'
 * K and V pass through the cache between two visits of a layer. So `ms` is
 * DRAM-bound for every row, and `hot_ms` (repeated steps, no flush) is shown
 * where the step's bytes would fit in L3. The roofline is measured in the
 * same run: TypedArray.set of 512 MiB into another 512 MiB buffer, in GB/s
 * of bytes read (one thread; the kernel uses two, so it can exceed 1).
 *
 * Needs `npm run build` first: it imports @sigmaserve/engine's dist and the
 * native addon, and refuses to run on the JS fallback.
 */
import { KvCacheManager, type KvModelShape } from "@sigmaserve/kvcache";
import { JsPagedAttention, NativePagedAttention, loadNativeAttention, type AttentionArenas, type AttentionBatch, type AttentionKernel, type AttentionShape } from "@sigmaserve/engine";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { mulberry32 } from "../lib/mulberry32.js";

const MIB = 2 ** 20;
const L3_BYTES = 260 * MIB;
const POOL_LIMIT_BYTES = 10 * 2 ** 30;
const LAYERS = 2;
const BLOCK_SIZE_TOKENS = 16;
const CONTEXTS = [1024, 4096, 16384, 32768];
const BATCHES = [1, 8];
/** The JS kernel is compute-bound (~1.7 GFLOP/s): timed only here, as a reference. */
const JS_CONFIGS = [
  { ctx: 1024, batch: 1 },
  { ctx: 1024, batch: 8 },
];
const SELECTIVE_TOPK = 64;
const SELECTIVE_CTX = 16384;

const SHAPES = {
  "sigma-1.5b": { numLayers: LAYERS, numQueryHeads: 32, numKeyHeads: 4, numValueHeads: 16, headDim: 64, blockSizeTokens: BLOCK_SIZE_TOKENS },
  "std-1.5b": { numLayers: LAYERS, numQueryHeads: 32, numKeyHeads: 16, numValueHeads: 16, headDim: 64, blockSizeTokens: BLOCK_SIZE_TOKENS },
} satisfies Record<string, AttentionShape>;
type ShapeName = keyof typeof SHAPES;


/** A pool holding `numBlocks` blocks of `shape`, filled with random values, and its blocks in shuffled order. */
function buildPool(shape: AttentionShape, numBlocks: number, random: () => number) {
  const kvShape: KvModelShape = { num_hidden_layers: shape.numLayers, num_key_heads: shape.numKeyHeads, num_value_heads: shape.numValueHeads, head_dim: shape.headDim };
  const kBlockBytes = shape.numLayers * shape.numKeyHeads * shape.blockSizeTokens * shape.headDim * 4;
  const vBlockBytes = shape.numLayers * shape.numValueHeads * shape.blockSizeTokens * shape.headDim * 4;
  const kv = new KvCacheManager({ shape: kvShape, blockSizeTokens: shape.blockSizeTokens, modelId: "bench", bytes: { k: { device: numBlocks * kBlockBytes, host: 0 }, v: { device: numBlocks * vBlockBytes, host: 0 } } });
  const view = kv.attentionView();
  const arenas: AttentionArenas = { kDevice: view.kDevice, vDevice: view.vDevice, vHost: view.vHost };
  // Fill from a random 16 MiB pattern at shifting offsets (a JS random per float would take a minute).
  const pattern = Float32Array.from({ length: 4 * MIB + 7 }, () => random() * 2 - 1);
  for (const arena of [arenas.kDevice, arenas.vDevice]) {
    for (let at = 0, shift = 0; at < arena.length; at += 4 * MIB, shift = (shift + 1) % 7) {
      arena.set(pattern.subarray(shift, shift + Math.min(4 * MIB, arena.length - at)), at);
    }
  }
  // One request holds every block; its table, shuffled, stands for the tables of a pool after churn.
  if (kv.allocate("all", { promptTokens: [], numNewTokens: numBlocks * shape.blockSizeTokens }) === null) throw new Error("bench pool too small");
  const slots = { kSlot: new Int32Array(numBlocks), vSlot: new Int32Array(numBlocks), vTier: new Uint8Array(numBlocks) };
  view.fillBlockSlots("all", slots, 0);
  const order = Array.from({ length: numBlocks }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const kSlot = Int32Array.from(order, (entry) => slots.kSlot[entry]!);
  const vSlot = Int32Array.from(order, (entry) => slots.vSlot[entry]!);
  return { arenas, kSlot, vSlot, bytes: numBlocks * (kBlockBytes + vBlockBytes) };
}

/** Decode batches: `batch` sequences of `ctx` tokens, each querying its last position. */
function decodeBatch(shape: AttentionShape, pool: ReturnType<typeof buildPool>, ctx: number, batch: number, topk: number, random: () => number): AttentionBatch {
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

/** Evicts the L3 by copying 256 MiB (512 MiB of traffic). */
function makeFlush() {
  const src = new Float32Array(64 * MIB).fill(1);
  const dst = new Float32Array(64 * MIB).fill(2);
  return () => dst.set(src);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface StepCase {
  kernel: AttentionKernel;
  shape: AttentionShape;
  arenas: AttentionArenas;
  batch: AttentionBatch;
}

interface StepTiming {
  coldMs: number;
  hotMs: number | undefined;
  kBytes: number;
  vBytes: number;
}

/**
 * Times one decode step (all layers) of each case. NOTE: the cases take
 * turns within every repetition, so a burst of load from another process on
 * this shared machine slows the compared configurations alike instead of
 * skewing their ratio.
 */
function timeSteps(cases: StepCase[], flush: () => void, repeats: number, hot: boolean): StepTiming[] {
  const bytes = cases.map(() => ({ k: 0, v: 0 }));
  const step = (i: number) => {
    const { kernel, shape, arenas, batch } = cases[i]!;
    bytes[i] = { k: 0, v: 0 };
    for (let layer = 0; layer < LAYERS; layer++) {
      const stats = kernel.attend(shape, arenas, { ...batch, layer });
      bytes[i]!.k += stats.kBytes;
      bytes[i]!.v += stats.vBytesDevice + stats.vBytesHost;
    }
  };
  cases.forEach((_, i) => step(i)); // warm-up: code paths, thread pool, scratch
  const cold = cases.map((): number[] => []);
  const warm = cases.map((): number[] => []);
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < cases.length; i++) {
      flush();
      const start = performance.now();
      step(i);
      cold[i]!.push(performance.now() - start);
    }
  }
  for (let r = 0; hot && r < repeats; r++) {
    for (let i = 0; i < cases.length; i++) {
      step(i); // the first of the pair brings the case's bytes back into L3
      const start = performance.now();
      step(i);
      warm[i]!.push(performance.now() - start);
    }
  }
  return cases.map((_, i) => ({ coldMs: median(cold[i]!), hotMs: hot ? median(warm[i]!) : undefined, kBytes: bytes[i]!.k, vBytes: bytes[i]!.v }));
}

function measureCopyRoofline(): number {
  const src = new Float32Array(128 * MIB).fill(1.5);
  const dst = new Float32Array(128 * MIB).fill(0);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - start);
  }
  return src.byteLength / 1e9 / (best / 1000);
}

const gbps = (bytes: number, ms: number) => bytes / 1e9 / (ms / 1000);

/** Largest |a - b| over each head's d outputs, relative to that head's largest |b|. */
function relativeError(a: Float32Array, b: Float32Array, d: number): number {
  let worst = 0;
  for (let start = 0; start < b.length; start += d) {
    let diff = 0;
    let scale = 0;
    for (let i = start; i < start + d; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

export async function run(): Promise<BenchResult> {
  const status = loadNativeAttention();
  if (!status.available) throw new Error(`the attention bench needs the native kernel: ${status.reason}`);
  const native = new NativePagedAttention();
  const js = new JsPagedAttention();
  const random = mulberry32(7);
  const rooflineGBps = measureCopyRoofline();
  const flush = makeFlush();

  const maxBatch = Math.max(...BATCHES);
  const maxCtx = Math.max(...CONTEXTS);
  const pools = {} as Record<ShapeName, ReturnType<typeof buildPool>>;
  const skipped: string[] = [];
  for (const name of Object.keys(SHAPES) as ShapeName[]) {
    pools[name] = buildPool(SHAPES[name], (maxBatch * maxCtx) / BLOCK_SIZE_TOKENS, random);
    if (pools[name].bytes > POOL_LIMIT_BYTES) throw new Error(`${name} pool of ${pools[name].bytes} bytes exceeds the limit`);
  }

  const rows: Row[] = [{ part: "roofline", kernel: "TypedArray.set 512 MiB", GBps: rooflineGBps }];
  const ratios: Record<string, number> = {};
  const names = Object.keys(SHAPES) as ShapeName[];
  const stepBytes = (shape: AttentionShape, ctx: number, batch: number) => batch * ctx * LAYERS * (shape.numKeyHeads + shape.numValueHeads) * shape.headDim * 4;
  for (const ctx of CONTEXTS) {
    for (const batch of BATCHES) {
      // The pool holds every layer of every block, so its size is also the bytes a step reads.
      const shapes = names.filter((name) => {
        const fits = stepBytes(SHAPES[name], ctx, batch) <= POOL_LIMIT_BYTES;
        if (!fits) skipped.push(`${name} ctx ${ctx} batch ${batch}`);
        return fits;
      });
      const decodes = shapes.map((name) => decodeBatch(SHAPES[name], pools[name], ctx, batch, 0, random));
      const fitsL3 = shapes.map((name) => stepBytes(SHAPES[name], ctx, batch) <= L3_BYTES);
      const selective = ctx === SELECTIVE_CTX && shapes.includes("sigma-1.5b");
      const cases: StepCase[] = shapes.map((name, i) => ({ kernel: native, shape: SHAPES[name], arenas: pools[name].arenas, batch: decodes[i]! }));
      if (selective) {
        const shape = SHAPES["sigma-1.5b"];
        cases.push({ kernel: native, shape, arenas: pools["sigma-1.5b"].arenas, batch: decodeBatch(shape, pools["sigma-1.5b"], ctx, batch, SELECTIVE_TOPK, random) });
      }
      const maxBytes = Math.max(...shapes.map((name) => stepBytes(SHAPES[name], ctx, batch)));
      const timings = timeSteps(cases, flush, maxBytes < 256 * MIB ? 11 : 5, fitsL3.some((f) => f));
      const nativeOut = decodes.map((d) => d.out.slice());
      const jsTimings = JS_CONFIGS.some((c) => c.ctx === ctx && c.batch === batch)
        ? timeSteps(shapes.map((name, i) => ({ kernel: js, shape: SHAPES[name], arenas: pools[name].arenas, batch: decodes[i]! })), flush, 3, false)
        : undefined;

      const msOf: Partial<Record<string, number>> = {};
      shapes.forEach((name, i) => {
        const shape = SHAPES[name];
        const expectedBytes = stepBytes(shape, ctx, batch);
        for (const [kernelName, t] of [["native", timings[i]!], ["js", jsTimings?.[i]]] as const) {
          if (t === undefined) continue;
          if (t.kBytes + t.vBytes !== expectedBytes) throw new Error(`${kernelName} ${name} ctx ${ctx} batch ${batch}: read ${t.kBytes + t.vBytes} bytes, expected ${expectedBytes}`);
          msOf[`${kernelName} ${name}`] = t.coldMs;
          // The last layer's output of both kernels: a same-run check that the fast one computes the same thing.
          const agreement: Row = kernelName === "js" ? { native_vs_js_rel_err: relativeError(nativeOut[i]!, decodes[i]!.out, shape.headDim) } : {};
          rows.push({
            part: "decode",
            kernel: kernelName,
            shape: name,
            batch,
            ctx,
            MiB_per_step: expectedBytes / MIB,
            fits_L3: fitsL3[i] ? "yes" : "no",
            ms: t.coldMs,
            GBps: gbps(expectedBytes, t.coldMs),
            vs_roofline: gbps(expectedBytes, t.coldMs) / rooflineGBps,
            hot_ms: fitsL3[i] && t.hotMs !== undefined ? t.hotMs : "",
            ...agreement,
          });
          if (kernelName === "native" && batch === 8 && ctx >= 16384) ratios[`native_${name}_${ctx / 1024}k_b8_vs_roofline`] = gbps(expectedBytes, t.coldMs) / rooflineGBps;
        }
      });
      for (const kernelName of ["native", "js"]) {
        const sigma = msOf[`${kernelName} sigma-1.5b`];
        const gqa = msOf[`${kernelName} std-1.5b`];
        if (sigma !== undefined && gqa !== undefined) ratios[`${kernelName}_diffqkv_vs_gqa_speed_${ctx / 1024}k_b${batch}`] = gqa / sigma;
      }

      if (selective) {
        // Selective V: DiffQKV, topk per (row, Q head), timed alongside the full-attention step above.
        const shape = SHAPES["sigma-1.5b"];
        const t = timings[timings.length - 1]!;
        const fullV = batch * ctx * LAYERS * shape.numValueHeads * shape.headDim * 4;
        const fullMs = msOf["native sigma-1.5b"]!;
        const readBytes = t.kBytes + t.vBytes;
        if (t.vBytes !== batch * LAYERS * shape.numQueryHeads * SELECTIVE_TOPK * shape.headDim * 4) throw new Error(`selective V read ${t.vBytes} V bytes`);
        rows.push({
          part: `selective V top-${SELECTIVE_TOPK}`,
          kernel: "native",
          shape: "sigma-1.5b",
          batch,
          ctx,
          MiB_per_step: readBytes / MIB,
          fits_L3: readBytes <= L3_BYTES ? "yes" : "no",
          ms: t.coldMs,
          GBps: gbps(readBytes, t.coldMs),
          vs_roofline: gbps(readBytes, t.coldMs) / rooflineGBps,
          v_bytes_fraction: t.vBytes / fullV,
          speedup_vs_full: fullMs / t.coldMs,
        });
        ratios[`selective_top${SELECTIVE_TOPK}_${ctx / 1024}k_b${batch}_v_bytes_fraction`] = t.vBytes / fullV;
        ratios[`selective_top${SELECTIVE_TOPK}_${ctx / 1024}k_b${batch}_speedup_vs_full`] = fullMs / t.coldMs;
      }
    }
  }

  return {
    name: "attention",
    config: {
      shapes: SHAPES,
      layers: LAYERS,
      blockSizeTokens: BLOCK_SIZE_TOKENS,
      contexts: CONTEXTS,
      batches: BATCHES,
      nativeThreads: native.threads,
      nativeCpuFeatures: status.cpuFeatures,
      timing: "median of repeats, each after a 256 MiB copy (512 MiB of traffic) that flushes L3 (hot_ms: median without the flush)",
      bytesPerStep: "batch·ctx·layers·(n_k+n_v)·d·4",
      roofline: "TypedArray.set 512 MiB → 512 MiB, GB/s of bytes read, 1 thread",
      skipped,
    },
    rows,
    ratios,
  };
}
