/**
 * The fast attention kernel: a C++ N-API addon (packages/engine/native)
 * that streams K and V blocks straight from the arenas, near memory speed.
 *
 * Model (native/src/paged_attention.h has the details). Work is split into
 * (row, head cluster) items, a cluster being the Q heads that share a K head
 * or a V head. An item reads each K row once for all its Q heads and each V
 * row once for the Q heads of that V head, so it streams exactly the bytes
 * DiffQKV saves, and it computes its outputs alone with a fixed accumulation
 * order, so a row's output is the same bits whatever the batch and whatever
 * the thread count. Threads (default: the available cores) take items from a
 * shared counter; the call blocks the JS thread until the batch is done.
 * K and V arenas may hold f32, bf16 or f16 elements (AttentionArenas.kDtype,
 * vDtype): 16-bit ones are widened to f32 in registers as they are loaded.
 * `streamSlots` is the kernel's read roofline for the bench, and
 * `stopAfterPhase` cuts a step short to time its QK, softmax and PV phases.
 *
 * The addon is built by `npm run build` (node-gyp, `-O3 -march=native`). It
 * may be missing (no compiler, no Node headers) or built for another CPU
 * (a restored build cache); `loadNativeAttention()` says so instead of
 * throwing, and createAttentionKernel() falls back to the JS kernel.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NativeAttentionUnavailableError } from "./attention-errors.js";
import type { AttentionArenas, AttentionBatch, AttentionKernel, AttentionReadStats, AttentionShape, KvElementType } from "./attention-kernel.js";
import { validateAttentionInputs } from "./validate-attention-inputs.js";

/** Where node-gyp puts the addon, relative to this file in src/attention or dist/attention. */
export const DEFAULT_NATIVE_ATTENTION_PATH = fileURLToPath(new URL("../../native/build/Release/paged_attention.node", import.meta.url));

/** The addon's element type codes (native/src/element_types.h). */
const ELEMENT_TYPE_CODES: Record<KvElementType, number> = { f32: 0, bf16: 1, f16: 2 };

/** Entries of the addon's params array (native/src/addon.cc). */
const NUM_PARAMS = 13;

/** The addon's codes for NativePagedAttentionOptions.stopAfterPhase. */
const PHASE_CODES: Record<NativeAttentionPhase, number> = { all: 0, scores: 1, softmax: 2 };

/**
 * Where full attention stops (profiling only): "scores" computes every Q·K
 * score and nothing else, "softmax" the scores, running maxima and weights
 * (neither reads V); "all" is attention. The bench times the three to split
 * a step into its QK, softmax and PV phases.
 */
export type NativeAttentionPhase = "all" | "scores" | "softmax";

/** The addon's surface (native/src/addon.cc). */
interface NativeAttentionAddon {
  attend(
    kDevice: Float32Array | Uint16Array,
    vDevice: Float32Array | Uint16Array,
    vHost: Float32Array | Uint16Array,
    q: Float32Array,
    out: Float32Array,
    rowSeq: Int32Array,
    rowPos: Int32Array,
    seqBlockStart: Int32Array,
    blockKSlot: Int32Array,
    blockVSlot: Int32Array,
    blockVTier: Uint8Array,
    params: Int32Array,
    stats: Float64Array,
  ): void;
  streamSlots(arena: Float32Array | Uint16Array, slotElements: number, slots: Int32Array, threads: number): bigint;
  /** Space-separated ISA extensions the binary was compiled for (/proc/cpuinfo names). */
  cpuFeatures: string;
}

export type NativeAttentionStatus = { available: true; path: string; cpuFeatures: string[] } | { available: false; path: string; reason: string };

const loaded = new Map<string, { status: NativeAttentionStatus; addon?: NativeAttentionAddon }>();

/** Loads the addon once per path (a relative path is taken from the working directory); never throws. */
export function loadNativeAttention(path: string = DEFAULT_NATIVE_ATTENTION_PATH): NativeAttentionStatus {
  return loadAddon(path).status;
}

function loadAddon(addonPath: string): { status: NativeAttentionStatus; addon?: NativeAttentionAddon } {
  const path = resolve(addonPath);
  const cached = loaded.get(path);
  if (cached !== undefined) return cached;
  let result: { status: NativeAttentionStatus; addon?: NativeAttentionAddon };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAttentionAddon;
    const cpuFeatures = addon.cpuFeatures.split(" ").filter((f) => f.length > 0);
    const missing = missingCpuFeatures(cpuFeatures);
    result =
      missing.length > 0
        ? { status: { available: false, path, reason: `built for CPU features this machine lacks (${missing.join(", ")}); rebuild with npm run build:native` } }
        : { status: { available: true, path, cpuFeatures }, addon };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === "MODULE_NOT_FOUND" ? `${path} is not built (npm run build:native needs a C++ compiler and Node headers)` : `${path} failed to load: ${(error as Error).message}`;
    result = { status: { available: false, path, reason } };
  }
  loaded.set(path, result);
  return result;
}

/** CPU features of the build that /proc/cpuinfo does not list (Linux only; elsewhere nothing is checked). */
function missingCpuFeatures(features: string[]): string[] {
  if (process.platform !== "linux" || features.length === 0) return [];
  let flags: Set<string>;
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("flags"));
    if (line === undefined) return [];
    flags = new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
  } catch {
    return [];
  }
  return features.filter((f) => !flags.has(f));
}

export interface NativePagedAttentionOptions {
  /** Worker threads per call, the calling thread included; default: availableParallelism(). */
  threads?: number;
  /** The .node file; default DEFAULT_NATIVE_ATTENTION_PATH. */
  addonPath?: string;
  /**
   * Run only the portable loops, never the AVX-512 kernels (nor their F16C
   * widening): what a CPU without AVX-512 computes. For tests; default false.
   */
  portableLoops?: boolean;
  /**
   * Profiling only: stop full attention after this phase (see
   * NativeAttentionPhase); the output is then not attention. Default "all".
   */
  stopAfterPhase?: NativeAttentionPhase;
}

export class NativePagedAttention implements AttentionKernel {
  readonly name = "native";
  readonly threads: number;
  readonly portableLoops: boolean;
  readonly stopAfterPhase: NativeAttentionPhase;
  private readonly addon: NativeAttentionAddon;
  private readonly params = new Int32Array(NUM_PARAMS);
  private readonly stats = new Float64Array(3);

  /** Throws NativeAttentionUnavailableError when the addon cannot be used here. */
  constructor(options: NativePagedAttentionOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new RangeError(`native attention: threads must be an integer in 1 … 256, got ${threads}`);
    const { status, addon } = loadAddon(options.addonPath ?? DEFAULT_NATIVE_ATTENTION_PATH);
    if (!status.available || addon === undefined) throw new NativeAttentionUnavailableError(status.available ? "not loaded" : status.reason);
    this.threads = threads;
    this.portableLoops = options.portableLoops ?? false;
    this.stopAfterPhase = options.stopAfterPhase ?? "all";
    this.addon = addon;
  }

  attend(shape: AttentionShape, arenas: AttentionArenas, batch: AttentionBatch): AttentionReadStats {
    validateAttentionInputs(shape, arenas, batch);
    const p = this.params;
    p[0] = shape.numLayers;
    p[1] = shape.numQueryHeads;
    p[2] = shape.numKeyHeads;
    p[3] = shape.numValueHeads;
    p[4] = shape.headDim;
    p[5] = shape.blockSizeTokens;
    p[6] = batch.layer;
    p[7] = batch.topk;
    p[8] = this.threads;
    p[9] = this.portableLoops ? 1 : 0;
    p[10] = ELEMENT_TYPE_CODES[arenas.kDtype];
    p[11] = ELEMENT_TYPE_CODES[arenas.vDtype];
    p[12] = PHASE_CODES[this.stopAfterPhase];
    this.addon.attend(
      arenas.kDevice,
      arenas.vDevice,
      arenas.vHost,
      batch.q,
      batch.out,
      batch.rowSeq,
      batch.rowPos,
      batch.seqBlockStart,
      batch.blockKSlot,
      batch.blockVSlot,
      batch.blockVTier,
      p,
      this.stats,
    );
    return { vBytesDevice: this.stats[0]!, vBytesHost: this.stats[1]!, kBytes: this.stats[2]! };
  }

  /**
   * This kernel's read roofline: reads the given slots of `arena` (slot s =
   * elements s·slotElements … (s+1)·slotElements − 1), each once, whole, on
   * the same threads attend() uses, with no arithmetic but a wrapping sum of
   * 64-bit words, which it returns (so nothing can skip the reads). For the
   * bench: the slots of a step's blocks are the bytes the step reads.
   */
  streamSlots(arena: Float32Array | Uint16Array, slotElements: number, slots: Int32Array): bigint {
    return this.addon.streamSlots(arena, slotElements, slots, this.threads);
  }
}
