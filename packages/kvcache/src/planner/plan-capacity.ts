/**
 * The capacity planner: how many tokens of KV cache fit in the memory of each
 * tier, with K and V apart, next to the model's GQA twin (n_k := n_v, the same
 * everything else). Memory is counted in whole blocks of `blockSizeTokens`
 * tokens over all layers, because the pools allocate whole blocks. In "full"
 * mode K and V both live on the device; in "selective-v" mode every token's V
 * lives on the host and the device holds K, in the share of the device the
 * worker gives K in that mode (the rest holds V's recent rows and the rows a
 * step writes: SELECTIVE_V_DEVICE_V_SHARE, which the worker's pool sizing
 * reads too), so the device bound and the host bound are computed apart and
 * the smaller one wins (the tier that limits is named). Bytes are exact
 * integers; only the ratios are fractions.
 * NOTE: in "full" mode the host tier holds offloaded prefixes, which add no
 * live tokens, so `hostBytes` is echoed but limits nothing there.
 *
 * K and V each have their dtype (one dtype for both, or K and V apart): a
 * component's bytes per token are its heads × head_dim × layers × its dtype's
 * width. `tokensPerGib` is 2^30 over the K+V bytes of one token (exact, not in
 * whole blocks): the density of the dtype in use, so bf16 gives exactly twice f32's.
 */
import { KV_DTYPE_BYTES, type KvDtype, type KvDtypes, type KvModelShape, type KvTier } from "../kv-types.js";
import { CapacityPlanError } from "./errors.js";

/**
 * The share of the device a selective-V worker gives V (its recent window and the rows being written before
 * they can move to the host); K gets the rest. NOTE: a fixed half, which is generous for V at long contexts
 * (V needs only a few blocks per running request there); sizing it from the running requests' windows would
 * give K more. The planner and the worker's pool sizing both read this, so a plan predicts what a worker admits.
 */
export const SELECTIVE_V_DEVICE_V_SHARE = 0.5;

/** Bytes in a GiB, the unit of `tokensPerGib`. */
const BYTES_PER_GIB = 2 ** 30;

/** Where V lives: with K on the device ("full"), or on the host ("selective-v"). */
export type CapacityMode = "full" | "selective-v";
export const CAPACITY_MODES: readonly CapacityMode[] = ["full", "selective-v"];

export interface CapacityPlanOptions {
  /** One dtype for K and V, or each apart. */
  dtype: KvDtype | KvDtypes;
  blockSizeTokens: number;
  /** Device memory given to the KV pools, in bytes. */
  deviceBytes: number;
  /** Host memory given to the KV pools, in bytes; absent = unbounded (selective-v is then device-limited). */
  hostBytes?: number;
  mode: CapacityMode;
  /** Also plan the GQA twin and the ratios against it (default true). */
  gqaTwin?: boolean;
}

/** K, V and their sum. */
export interface KvBytes {
  k: number;
  v: number;
  total: number;
}

/** The figures of one model shape under one plan's options. */
export interface CapacityFigures {
  shape: KvModelShape;
  /** Bytes one token adds over all layers. */
  bytesPerToken: KvBytes;
  /** Bytes one block holds over all layers (bytesPerToken × blockSizeTokens). */
  bytesPerBlock: KvBytes;
  /** Tokens whose K and V fit in a GiB (2^30 / bytesPerToken.total; not rounded to whole blocks). */
  tokensPerGib: number;
  /** Bytes per token each tier holds: K+V and 0 in full mode, K and V in selective-v. */
  deviceBytesPerToken: number;
  hostBytesPerToken: number;
  /** Whole blocks (and their tokens) the device's memory holds. */
  deviceBlocks: number;
  deviceTokens: number;
  /** Whole blocks (and tokens) the host's memory holds; null when the host bounds nothing. */
  hostBlocks: number | null;
  hostTokens: number | null;
  /** The plan: min over the tiers that bound it. */
  blocks: number;
  tokens: number;
  /** The tier whose bound is the plan (the device on a tie). */
  limitedBy: KvTier;
}

export interface CapacityPlan extends CapacityFigures {
  mode: CapacityMode;
  /** Each component's dtype (a single dtype given is both). */
  dtype: KvDtypes;
  blockSizeTokens: number;
  deviceBytes: number;
  hostBytes: number | null;
  /** The same figures for n_k := n_v; null when options.gqaTwin is false. */
  gqaTwin: CapacityFigures | null;
  /** Against the twin: tokens ÷ twin tokens (null if the twin fits none), and twin device bytes per token ÷ ours. */
  vsGqaTwin: { tokens: number | null; deviceBytesPerToken: number } | null;
}

export function planCapacity(shape: KvModelShape, options: CapacityPlanOptions): CapacityPlan {
  const dtype: KvDtypes = typeof options.dtype === "string" ? { k: options.dtype, v: options.dtype } : { k: options.dtype.k, v: options.dtype.v };
  validate(shape, options, dtype);
  const hostBytes = options.hostBytes ?? null;
  const figures = planShape(shape, options, dtype, hostBytes);
  const twin = options.gqaTwin === false ? null : planShape({ ...shape, num_key_heads: shape.num_value_heads }, options, dtype, hostBytes);
  return {
    mode: options.mode,
    dtype,
    blockSizeTokens: options.blockSizeTokens,
    deviceBytes: options.deviceBytes,
    hostBytes,
    ...figures,
    gqaTwin: twin,
    vsGqaTwin:
      twin === null
        ? null
        : { tokens: twin.tokens === 0 ? null : figures.tokens / twin.tokens, deviceBytesPerToken: twin.deviceBytesPerToken / figures.deviceBytesPerToken },
  };
}

function planShape(shape: KvModelShape, options: CapacityPlanOptions, dtype: KvDtypes, hostBytes: number | null): CapacityFigures {
  const perLayerToken = { k: shape.num_key_heads * shape.head_dim * KV_DTYPE_BYTES[dtype.k], v: shape.num_value_heads * shape.head_dim * KV_DTYPE_BYTES[dtype.v] };
  const bytesPerToken = sum(perLayerToken.k * shape.num_hidden_layers, perLayerToken.v * shape.num_hidden_layers);
  const bytesPerBlock = sum(bytesPerToken.k * options.blockSizeTokens, bytesPerToken.v * options.blockSizeTokens);
  if (!Number.isSafeInteger(bytesPerBlock.total)) throw new CapacityPlanError("shape", `gives ${bytesPerBlock.total} bytes per block, past exact integers`);

  const selective = options.mode === "selective-v";
  const deviceBytesPerBlock = selective ? bytesPerBlock.k : bytesPerBlock.total;
  const deviceBytesForBlocks = selective ? Math.floor(options.deviceBytes * (1 - SELECTIVE_V_DEVICE_V_SHARE)) : options.deviceBytes;
  const deviceBlocks = Math.floor(deviceBytesForBlocks / deviceBytesPerBlock);
  const hostBlocks = selective && hostBytes !== null ? Math.floor(hostBytes / bytesPerBlock.v) : null;
  const limitedBy: KvTier = hostBlocks !== null && hostBlocks < deviceBlocks ? "host" : "device";
  const blocks = limitedBy === "host" ? (hostBlocks ?? 0) : deviceBlocks;
  return {
    // Only the fields the plan used (a full ModelConfig may come in).
    shape: { num_hidden_layers: shape.num_hidden_layers, num_key_heads: shape.num_key_heads, num_value_heads: shape.num_value_heads, head_dim: shape.head_dim },
    bytesPerToken,
    bytesPerBlock,
    tokensPerGib: BYTES_PER_GIB / bytesPerToken.total,
    deviceBytesPerToken: selective ? bytesPerToken.k : bytesPerToken.total,
    hostBytesPerToken: selective ? bytesPerToken.v : 0,
    deviceBlocks,
    deviceTokens: deviceBlocks * options.blockSizeTokens,
    hostBlocks,
    hostTokens: hostBlocks === null ? null : hostBlocks * options.blockSizeTokens,
    blocks,
    tokens: blocks * options.blockSizeTokens,
    limitedBy,
  };
}

function sum(k: number, v: number): KvBytes {
  return { k, v, total: k + v };
}

function validate(shape: KvModelShape, options: CapacityPlanOptions, dtype: KvDtypes): void {
  for (const field of ["num_hidden_layers", "num_key_heads", "num_value_heads", "head_dim"] as const) {
    requireInteger(`shape.${field}`, shape[field], 1);
  }
  for (const component of ["k", "v"] as const) {
    if (!Object.hasOwn(KV_DTYPE_BYTES, dtype[component])) {
      const field = typeof options.dtype === "string" ? "dtype" : `dtype.${component}`;
      throw new CapacityPlanError(field, `must be one of ${Object.keys(KV_DTYPE_BYTES).join(", ")}, got ${String(dtype[component])}`);
    }
  }
  if (!CAPACITY_MODES.includes(options.mode)) throw new CapacityPlanError("mode", `must be one of ${CAPACITY_MODES.join(", ")}, got ${String(options.mode)}`);
  requireInteger("blockSizeTokens", options.blockSizeTokens, 1);
  requireInteger("deviceBytes", options.deviceBytes, 0);
  if (options.hostBytes !== undefined) requireInteger("hostBytes", options.hostBytes, 0);
}

function requireInteger(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new CapacityPlanError(field, `must be an integer >= ${min}, got ${String(value)}`);
}
