/**
 * The capacity planner: how many tokens of KV cache fit in the memory of each
 * tier, with K and V apart, next to the model's GQA twin (n_k := n_v, the same
 * everything else). Memory is counted in whole blocks of `blockSizeTokens`
 * tokens over all layers, because the pools allocate whole blocks. In "full"
 * mode K and V both live on the device; in "selective-v" mode the device holds
 * only K and every token's V lives on the host, so the device bound and the
 * host bound are computed apart and the smaller one wins (the tier that limits
 * is named). Bytes are exact integers; only the ratios are fractions.
 * NOTE: in "full" mode the host tier holds offloaded prefixes, which add no
 * live tokens, so `hostBytes` is echoed but limits nothing there.
 */
import type { KvModelShape, KvTier } from "../kv-types.js";
import { CapacityPlanError } from "./errors.js";

/** KV element dtypes the pools store, with their width in bytes. */
export const KV_DTYPE_BYTES = { f32: 4, f16: 2, bf16: 2 } as const;
export type KvDtype = keyof typeof KV_DTYPE_BYTES;

/** Where V lives: with K on the device ("full"), or on the host ("selective-v"). */
export type CapacityMode = "full" | "selective-v";
export const CAPACITY_MODES: readonly CapacityMode[] = ["full", "selective-v"];

export interface CapacityPlanOptions {
  dtype: KvDtype;
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
  dtype: KvDtype;
  blockSizeTokens: number;
  deviceBytes: number;
  hostBytes: number | null;
  /** The same figures for n_k := n_v; null when options.gqaTwin is false. */
  gqaTwin: CapacityFigures | null;
  /** Against the twin: tokens ÷ twin tokens (null if the twin fits none), and twin device bytes per token ÷ ours. */
  vsGqaTwin: { tokens: number | null; deviceBytesPerToken: number } | null;
}

export function planCapacity(shape: KvModelShape, options: CapacityPlanOptions): CapacityPlan {
  validate(shape, options);
  const hostBytes = options.hostBytes ?? null;
  const figures = planShape(shape, options, hostBytes);
  const twin = options.gqaTwin === false ? null : planShape({ ...shape, num_key_heads: shape.num_value_heads }, options, hostBytes);
  return {
    mode: options.mode,
    dtype: options.dtype,
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

function planShape(shape: KvModelShape, options: CapacityPlanOptions, hostBytes: number | null): CapacityFigures {
  const width = KV_DTYPE_BYTES[options.dtype];
  const perLayerToken = { k: shape.num_key_heads * shape.head_dim * width, v: shape.num_value_heads * shape.head_dim * width };
  const bytesPerToken = sum(perLayerToken.k * shape.num_hidden_layers, perLayerToken.v * shape.num_hidden_layers);
  const bytesPerBlock = sum(bytesPerToken.k * options.blockSizeTokens, bytesPerToken.v * options.blockSizeTokens);
  if (!Number.isSafeInteger(bytesPerBlock.total)) throw new CapacityPlanError("shape", `gives ${bytesPerBlock.total} bytes per block, past exact integers`);

  const selective = options.mode === "selective-v";
  const deviceBytesPerBlock = selective ? bytesPerBlock.k : bytesPerBlock.total;
  const deviceBlocks = Math.floor(options.deviceBytes / deviceBytesPerBlock);
  const hostBlocks = selective && hostBytes !== null ? Math.floor(hostBytes / bytesPerBlock.v) : null;
  const limitedBy: KvTier = hostBlocks !== null && hostBlocks < deviceBlocks ? "host" : "device";
  const blocks = limitedBy === "host" ? (hostBlocks ?? 0) : deviceBlocks;
  return {
    // Only the fields the plan used (a full ModelConfig may come in).
    shape: { num_hidden_layers: shape.num_hidden_layers, num_key_heads: shape.num_key_heads, num_value_heads: shape.num_value_heads, head_dim: shape.head_dim },
    bytesPerToken,
    bytesPerBlock,
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

function validate(shape: KvModelShape, options: CapacityPlanOptions): void {
  for (const field of ["num_hidden_layers", "num_key_heads", "num_value_heads", "head_dim"] as const) {
    requireInteger(`shape.${field}`, shape[field], 1);
  }
  if (!Object.hasOwn(KV_DTYPE_BYTES, options.dtype)) throw new CapacityPlanError("dtype", `must be one of ${Object.keys(KV_DTYPE_BYTES).join(", ")}, got ${String(options.dtype)}`);
  if (!CAPACITY_MODES.includes(options.mode)) throw new CapacityPlanError("mode", `must be one of ${CAPACITY_MODES.join(", ")}, got ${String(options.mode)}`);
  requireInteger("blockSizeTokens", options.blockSizeTokens, 1);
  requireInteger("deviceBytes", options.deviceBytes, 0);
  if (options.hostBytes !== undefined) requireInteger("hostBytes", options.hostBytes, 0);
}

function requireInteger(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new CapacityPlanError(field, `must be an integer >= ${min}, got ${String(value)}`);
}
