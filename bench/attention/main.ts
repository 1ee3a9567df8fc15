/**
 * `npm run bench -- attention [--quick] [--contexts 16384,32768] [--batches 1,8] [--dtypes f32,bf16] [--rounds 7] [--compare-addon path.node]`:
 * one decode step (one query row per sequence, 2 layers) of paged attention
 * over block pools, DiffQKV (sigma-1.5b: n_q 32, n_k 4, n_v 16, d 64)
 * against GQA (std-1.5b: 32/16/16), block size 16, with K and V stored in
 * f32 and in bf16 (the kernel widens in registers).
 *
 * A step reads batch·ctx·layers·(n_k+n_v)·d·width bytes, so DiffQKV reads
 * 20/32 of GQA's bytes; a kernel that streams at memory speed shows that as
 * time. Before every timed measurement the L3 (260 MiB) is flushed by copying
 * 256 MiB (512 MiB of traffic), because in a real model the other layers' K
 * and V pass through the cache between two visits of a layer; rows whose step
 * is above 512 MiB are DRAM-bound whatever the flush does.
 *
 * Measuring (bench/lib/alternating-rounds.ts): per (dtype, ctx, batch) every
 * variant below runs once per round, in alternating order, one warm-up round
 * discarded, then `--rounds` kept rounds each; a figure is the median with
 * best and spread, a ratio is a ratio of medians.
 * - `diffqkv`, `gqa`: the native kernel's step.
 * - `… roofline`: the read roofline of that step: NativePagedAttention.streamSlots
 *   reads the same slots (the same bytes), whole, on the same threads, with a
 *   wrapping 64-bit sum as its only arithmetic. `vs_roofline` = roofline ms / kernel ms.
 * Beside wall time each measurement records the process CPU time (all
 * threads): on a shared machine a descheduled kernel thread inflates the wall
 * time but not the CPU time, so `cpu_ms` and the `…_cpu` ratios are the
 * figures to read when the machine was busy (the run says its load average).
 * - `… scores`, `… softmax`: the kernel stopped after scoring, or after the
 *   softmax (neither reads V); the per-phase split is QK = scores, softmax =
 *   softmax − scores, PV = step − softmax (medians), so each phase's time
 *   includes the memory traffic it adds (QK reads K, PV reads V).
 * - `diffqkv top-64` (at 16K): selective V. `… js` (at 1K): the JS kernel.
 * - `… compare` (with --compare-addon): another build of the addon (a copy
 *   of paged_attention.node from before a kernel change), for before/after
 *   figures from the same rounds.
 *
 * Pools are built per dtype (one dtype's pools at a time, to bound memory),
 * so f32 and bf16 rows come from separate rounds and no ratio compares them.
 * Needs `npm run build` first: it imports @sigmaserve/engine's dist and the
 * native addon, and refuses to run on the JS fallback.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { KV_DTYPES, type KvDtype } from "@sigmaserve/kvcache";
import { JsPagedAttention, NativePagedAttention, loadNativeAttention, type AttentionBatch, type AttentionKernel, type AttentionShape } from "@sigmaserve/engine";
import { alternatingRounds, discardedSummary, spreadText, withBest } from "../lib/alternating-rounds.js";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { median } from "../lib/median.js";
import { mulberry32 } from "../lib/mulberry32.js";
import { buildPool, decodeBatch, stepBytes, type BenchPool } from "./bench-pools.js";

const MIB = 2 ** 20;
const L3_BYTES = 260 * MIB;
/** Steps above this are DRAM-bound: twice the L3. */
const DRAM_BOUND_BYTES = 512 * MIB;
const POOL_LIMIT_BYTES = 6 * 2 ** 30;
const LAYERS = 2;
const BLOCK_SIZE_TOKENS = 16;
const SELECTIVE_TOPK = 64;
const SELECTIVE_CTX = 16384;
const JS_CTX = 1024;

const SHAPES = {
  diffqkv: { name: "sigma-1.5b", shape: { numLayers: LAYERS, numQueryHeads: 32, numKeyHeads: 4, numValueHeads: 16, headDim: 64, blockSizeTokens: BLOCK_SIZE_TOKENS } },
  gqa: { name: "std-1.5b", shape: { numLayers: LAYERS, numQueryHeads: 32, numKeyHeads: 16, numValueHeads: 16, headDim: 64, blockSizeTokens: BLOCK_SIZE_TOKENS } },
} satisfies Record<string, { name: string; shape: AttentionShape }>;
type ShapeKey = keyof typeof SHAPES;
const SHAPE_KEYS = Object.keys(SHAPES) as ShapeKey[];

interface Settings {
  contexts: number[];
  batches: number[];
  dtypes: KvDtype[];
  rounds: number;
  /** Another build of the addon (e.g. before a kernel change), timed in the same rounds as variants `… compare`. */
  compareAddon: string | undefined;
}

function parseSettings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: { quick: { type: "boolean", default: false }, contexts: { type: "string" }, batches: { type: "string" }, dtypes: { type: "string" }, rounds: { type: "string" }, "compare-addon": { type: "string" } },
    strict: true,
  });
  const quick = values.quick === true;
  const list = (flag: string, raw: string | undefined, fallback: number[]) => {
    const parsed = raw === undefined ? fallback : raw.split(",").map(Number);
    if (parsed.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${flag}: must be positive integers, got ${raw}`);
    return parsed;
  };
  const contexts = list("contexts", values.contexts, quick ? [1024, 4096] : [1024, 4096, 16384, 32768]);
  if (contexts.some((c) => c % BLOCK_SIZE_TOKENS !== 0)) throw new Error(`--contexts: must be multiples of ${BLOCK_SIZE_TOKENS}`);
  const dtypes = (values.dtypes ?? "f32,bf16").split(",");
  for (const d of dtypes) if (!(KV_DTYPES as readonly string[]).includes(d)) throw new Error(`--dtypes: must be among ${KV_DTYPES.join(", ")}, got ${d}`);
  return { contexts, batches: list("batches", values.batches, [1, 8]), dtypes: dtypes as KvDtype[], rounds: list("rounds", values.rounds, [quick ? 5 : 7])[0]!, compareAddon: values["compare-addon"] };
}

/** Evicts the L3 by copying 256 MiB (512 MiB of traffic). */
function makeFlush(): () => void {
  const src = new Float32Array(64 * MIB).fill(1);
  const dst = new Float32Array(64 * MIB).fill(2);
  return () => dst.set(src);
}

const gbps = (bytes: number, ms: number) => bytes / 1e9 / (ms / 1000);

/** Largest |a − b| over each head's d outputs, relative to that head's largest |b|. */
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

const WARMUP_ROUNDS = 1;

/** One measurement of a round: its wall time and the process CPU time it took (all threads), in ms. */
interface Variant {
  run(): { wallMs: number; cpuMs: number };
}

export async function run(args: string[]): Promise<BenchResult> {
  const settings = parseSettings(args);
  const loadAtStart = loadavg();
  const status = loadNativeAttention();
  if (!status.available) throw new Error(`the attention bench needs the native kernel: ${status.reason}`);
  const native = new NativePagedAttention();
  const phaseKernels = { scores: new NativePagedAttention({ stopAfterPhase: "scores" }), softmax: new NativePagedAttention({ stopAfterPhase: "softmax" }) };
  const js = new JsPagedAttention();
  let compare: NativePagedAttention | undefined;
  if (settings.compareAddon !== undefined) {
    const compareStatus = loadNativeAttention(settings.compareAddon);
    if (!compareStatus.available) throw new Error(`--compare-addon: ${compareStatus.reason}`);
    compare = new NativePagedAttention({ addonPath: settings.compareAddon });
  }
  const random = mulberry32(7);
  const flush = makeFlush();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const discarded: string[] = [];
  const maxBatch = Math.max(...settings.batches);
  const maxCtx = Math.max(...settings.contexts);

  for (const dtype of settings.dtypes) {
    const pools = {} as Record<ShapeKey, BenchPool>;
    for (const key of SHAPE_KEYS) {
      const bytes = stepBytes(SHAPES[key].shape, dtype, maxCtx, maxBatch);
      if (bytes > POOL_LIMIT_BYTES) throw new Error(`${key} ${dtype} pool of ${bytes} bytes exceeds the ${POOL_LIMIT_BYTES}-byte limit`);
      pools[key] = buildPool(SHAPES[key].shape, dtype, (maxBatch * maxCtx) / BLOCK_SIZE_TOKENS, random);
    }
    for (const ctx of settings.contexts) {
      for (const batch of settings.batches) {
        const label = `${dtype} ctx ${ctx} batch ${batch}`;
        const config = measureConfig({ pools, dtype, ctx, batch, native, phaseKernels, js, compare, flush, random, rounds: settings.rounds });
        // Process CPU time (both kernel threads) of each kept measurement, beside its wall time.
        const cpuMs = new Map<string, number[]>(Object.keys(config.variants).map((v) => [v, []]));
        const stats = await alternatingRounds({
          variants: Object.keys(config.variants),
          rounds: settings.rounds,
          warmupRounds: WARMUP_ROUNDS,
          measure: (v, round) => {
            const { wallMs, cpuMs: cpu } = config.variants[v]!.run();
            if (round >= WARMUP_ROUNDS) cpuMs.get(v)!.push(cpu);
            return wallMs;
          },
        });
        const cpu = (v: string) => median(cpuMs.get(v)!);
        // One line per configuration when only the warm-up round was discarded (the usual case).
        const onlyWarmup = Object.values(stats).every((st) => st.discarded.length === WARMUP_ROUNDS && st.discarded.every((d) => d.reason === "warm-up"));
        if (onlyWarmup) discarded.push(`${label}: the warm-up round of each of ${Object.keys(stats).length} variants`);
        else discarded.push(...discardedSummary(stats).map((line) => `${label}: ${line}`));
        const ms = (v: string) => stats[v]!.median;
        for (const key of SHAPE_KEYS) {
          const { name, shape } = SHAPES[key];
          const bytes = stepBytes(shape, dtype, ctx, batch);
          const s = withBest(stats[key]!, "lower");
          const roofline = stats[`${key} roofline`]!;
          rows.push({
            part: "decode",
            kernel: "native",
            shape: name,
            dtype,
            batch,
            ctx,
            MiB_per_step: bytes / MIB,
            fits_L3: bytes <= L3_BYTES ? "yes" : "no",
            ms: s.median,
            ms_best: s.best,
            ms_spread: spreadText(s),
            GBps: gbps(bytes, s.median),
            roofline_ms: roofline.median,
            roofline_GBps: gbps(bytes, roofline.median),
            vs_roofline: roofline.median / s.median,
            cpu_ms: cpu(key),
            roofline_cpu_ms: cpu(`${key} roofline`),
            qk_ms: ms(`${key} scores`),
            softmax_ms: ms(`${key} softmax`) - ms(`${key} scores`),
            pv_ms: s.median - ms(`${key} softmax`),
            rounds: s.values.length,
          });
          const compared = stats[`${key} compare`];
          if (compared !== undefined) {
            const k = withBest(compared, "lower");
            rows.push({ part: "decode", kernel: "native (--compare-addon)", shape: name, dtype, batch, ctx, MiB_per_step: bytes / MIB, ms: k.median, ms_best: k.best, ms_spread: spreadText(k), GBps: gbps(bytes, k.median), vs_roofline: roofline.median / k.median, cpu_ms: cpu(`${key} compare`), rounds: k.values.length });
            ratios[`${key}_${dtype}_${ctx / 1024}k_b${batch}_speedup_vs_compare_addon`] = k.median / s.median;
            ratios[`${key}_${dtype}_${ctx / 1024}k_b${batch}_cpu_speedup_vs_compare_addon`] = cpu(`${key} compare`) / cpu(key);
          }
          if (bytes > DRAM_BOUND_BYTES) {
            ratios[`${key}_${dtype}_${ctx / 1024}k_b${batch}_vs_roofline`] = roofline.median / s.median;
            ratios[`${key}_${dtype}_${ctx / 1024}k_b${batch}_vs_roofline_cpu`] = cpu(`${key} roofline`) / cpu(key);
          }
          if (stats[`${key} js`] !== undefined) {
            const j = withBest(stats[`${key} js`]!, "lower");
            rows.push({ part: "decode", kernel: "js", shape: name, dtype, batch, ctx, MiB_per_step: bytes / MIB, ms: j.median, ms_best: j.best, ms_spread: spreadText(j), GBps: gbps(bytes, j.median), native_vs_js_rel_err: config.agreement[key]!, rounds: j.values.length });
          }
        }
        ratios[`diffqkv_vs_gqa_speed_${dtype}_${ctx / 1024}k_b${batch}`] = ms("gqa") / ms("diffqkv");
        ratios[`diffqkv_vs_gqa_cpu_${dtype}_${ctx / 1024}k_b${batch}`] = cpu("gqa") / cpu("diffqkv");
        if (stats["diffqkv js"] !== undefined) ratios[`js_diffqkv_vs_gqa_speed_${dtype}_${ctx / 1024}k_b${batch}`] = ms("gqa js") / ms("diffqkv js");
        const selective = stats[`diffqkv top-${SELECTIVE_TOPK}`];
        if (selective !== undefined) {
          const shape = SHAPES.diffqkv.shape;
          const width = dtype === "f32" ? 4 : 2;
          const vBytes = batch * LAYERS * shape.numQueryHeads * SELECTIVE_TOPK * shape.headDim * width;
          const readBytes = batch * ctx * LAYERS * shape.numKeyHeads * shape.headDim * width + vBytes;
          const s = withBest(selective, "lower");
          const fullV = batch * ctx * LAYERS * shape.numValueHeads * shape.headDim * width;
          rows.push({ part: `selective V top-${SELECTIVE_TOPK}`, kernel: "native", shape: SHAPES.diffqkv.name, dtype, batch, ctx, MiB_per_step: readBytes / MIB, fits_L3: readBytes <= L3_BYTES ? "yes" : "no", ms: s.median, ms_best: s.best, ms_spread: spreadText(s), GBps: gbps(readBytes, s.median), v_bytes_fraction: vBytes / fullV, speedup_vs_full: ms("diffqkv") / s.median, rounds: s.values.length });
          ratios[`selective_top${SELECTIVE_TOPK}_${dtype}_${ctx / 1024}k_b${batch}_speedup_vs_full`] = ms("diffqkv") / s.median;
        }
        process.stderr.write(`attention: ${label}: diffqkv ${spreadText(stats["diffqkv"]!)} ms, gqa ${spreadText(stats["gqa"]!)} ms\n`);
      }
    }
  }
  process.stderr.write(`attention: discarded rounds: ${discarded.length === 0 ? "none" : `\n  ${discarded.join("\n  ")}`}\n`);

  return {
    name: "attention",
    config: {
      shapes: Object.fromEntries(SHAPE_KEYS.map((k) => [SHAPES[k].name, SHAPES[k].shape])),
      ...settings,
      nativeThreads: native.threads,
      nativeCpuFeatures: status.cpuFeatures,
      timing: "alternating rounds, 1 warm-up round discarded; each measurement after a 256 MiB copy (512 MiB of traffic) that flushes L3; ms = median of kept rounds, ms_best = fastest, ms_spread = median [min..max]; cpu_ms = median process CPU time (user+sys, all threads) of the same measurements, which a descheduled thread does not add to (a busy machine inflates ms, much less cpu_ms)",
      roofline: "NativePagedAttention.streamSlots over the step's K and V slots (the same bytes, whole slots), same thread count, same rounds; vs_roofline = roofline median ms / kernel median ms",
      phases: "qk_ms = median(stop after scores); softmax_ms = median(stop after softmax) - qk_ms; pv_ms = median(step) - median(stop after softmax); each includes the memory reads its phase adds",
      bytesPerStep: "batch·ctx·layers·(n_k+n_v)·d·(4 for f32, 2 for bf16/f16)",
      discarded,
      loadAverage1m5m15m: { start: loadAtStart, end: loadavg() },
    },
    rows,
    ratios,
  };
}

interface ConfigInputs {
  pools: Record<ShapeKey, BenchPool>;
  dtype: KvDtype;
  ctx: number;
  batch: number;
  native: NativePagedAttention;
  phaseKernels: Record<"scores" | "softmax", NativePagedAttention>;
  js: JsPagedAttention;
  compare: NativePagedAttention | undefined;
  flush: () => void;
  random: () => number;
  rounds: number;
}

/** The variants of one (dtype, ctx, batch), each a flushed, timed measurement in ms; and the native-vs-JS agreement at JS_CTX. */
function measureConfig(c: ConfigInputs): { variants: Record<string, Variant>; agreement: Partial<Record<ShapeKey, number>> } {
  const variants: Record<string, Variant> = {};
  const agreement: Partial<Record<ShapeKey, number>> = {};
  const timed = (fn: () => void): Variant => ({
    run: () => {
      c.flush();
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      fn();
      const wallMs = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
    },
  });
  /** Every layer of one step; throws if the kernel read other than `expected` bytes. */
  const step = (kernel: AttentionKernel, pool: BenchPool, batch: AttentionBatch, expected: number | undefined) => () => {
    let bytes = 0;
    for (let layer = 0; layer < LAYERS; layer++) {
      const stats = kernel.attend(pool.shape, pool.arenas, { ...batch, layer });
      bytes += stats.kBytes + stats.vBytesDevice + stats.vBytesHost;
    }
    if (expected !== undefined && bytes !== expected) throw new Error(`${kernel.name} ${c.dtype} ctx ${c.ctx} batch ${c.batch}: read ${bytes} bytes, expected ${expected}`);
  };
  for (const key of SHAPE_KEYS) {
    const pool = c.pools[key];
    const batch = decodeBatch(pool, c.ctx, c.batch, 0, c.random);
    const expected = stepBytes(pool.shape, c.dtype, c.ctx, c.batch);
    variants[key] = timed(step(c.native, pool, batch, expected));
    const entries = c.batch * (c.ctx / BLOCK_SIZE_TOKENS);
    const kSlots = batch.blockKSlot.subarray(0, entries);
    const vSlots = batch.blockVSlot.subarray(0, entries);
    variants[`${key} roofline`] = timed(() => {
      c.native.streamSlots(pool.arenas.kDevice, pool.kSlotElements, kSlots);
      c.native.streamSlots(pool.arenas.vDevice, pool.vSlotElements, vSlots);
    });
    variants[`${key} scores`] = timed(step(c.phaseKernels.scores, pool, batch, undefined));
    variants[`${key} softmax`] = timed(step(c.phaseKernels.softmax, pool, batch, undefined));
    if (c.compare !== undefined) variants[`${key} compare`] = timed(step(c.compare, pool, { ...batch, out: new Float32Array(batch.out.length) }, expected));
    if (c.ctx === JS_CTX) {
      const jsBatch = { ...batch, out: new Float32Array(batch.out.length) };
      variants[`${key} js`] = timed(step(c.js, pool, jsBatch, expected));
      // The last layer's output of both kernels: a same-run check that the fast one computes the same thing.
      step(c.native, pool, batch, expected)();
      step(c.js, pool, jsBatch, expected)();
      agreement[key] = relativeError(batch.out, jsBatch.out, pool.shape.headDim);
    }
    if (key === "diffqkv" && c.ctx === SELECTIVE_CTX) {
      variants[`diffqkv top-${SELECTIVE_TOPK}`] = timed(step(c.native, pool, decodeBatch(pool, c.ctx, c.batch, SELECTIVE_TOPK, c.random), undefined));
    }
  }
  return { variants, agreement };
}
