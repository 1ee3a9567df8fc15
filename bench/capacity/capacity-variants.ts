/**
 * The three workers the capacity bench compares, all with the same KV device
 * budget: sigma-tiny with K and V on the device (DiffQKV, full), its GQA twin
 * sigma-tiny-gqa (n_k = n_v = 4, full), and sigma-tiny in selective-V mode
 * (`--selective-v-topk` with a host tier, where old V rows live). For each,
 * what the capacity planner (`sigmaserve kv plan`, i.e. planCapacity) predicts
 * for the same budget, block size, dtype and mode, and the worker's flags.
 *
 * NOTE: the selective-V host budget is sized from the planner so that the
 * device is what binds: 1.25× the V bytes of every block the planner's device
 * bound holds (the planner then names "device" as the limit).
 */
import { planCapacity, type CapacityMode, type CapacityPlan, type KvDtype } from "@sigmaserve/kvcache";
import { presetConfig } from "@sigmaserve/model/config";

export const CAPACITY_VARIANTS = ["diffqkv-full", "gqa-full", "diffqkv-selective-v"] as const;
export type CapacityVariant = (typeof CAPACITY_VARIANTS)[number];

const MIB = 2 ** 20;
/** Host budget over the V bytes the planner's device bound needs: a margin, so the device binds. */
const HOST_MARGIN = 1.25;
/** V rows read per decode step in selective-V mode (any k > 0 turns the mode on; it does not change capacity). */
export const SELECTIVE_V_TOPK = 32;

export interface VariantSpec {
  variant: CapacityVariant;
  preset: "sigma-tiny" | "sigma-tiny-gqa";
  mode: CapacityMode;
}

export const VARIANT_SPECS: Record<CapacityVariant, VariantSpec> = {
  "diffqkv-full": { variant: "diffqkv-full", preset: "sigma-tiny", mode: "full" },
  "gqa-full": { variant: "gqa-full", preset: "sigma-tiny-gqa", mode: "full" },
  "diffqkv-selective-v": { variant: "diffqkv-selective-v", preset: "sigma-tiny", mode: "selective-v" },
};

export interface CapacityBudget {
  deviceMib: number;
  blockSizeTokens: number;
  dtype: KvDtype;
}

/** The host tier a selective-V worker gets (MiB, whole): enough for V of every block the planner's device bound holds, with a margin. */
export function selectiveHostMib(budget: CapacityBudget): number {
  const unbounded = planCapacity(presetConfig("sigma-tiny"), { dtype: budget.dtype, blockSizeTokens: budget.blockSizeTokens, deviceBytes: budget.deviceMib * MIB, mode: "selective-v", gqaTwin: false });
  return Math.ceil((unbounded.deviceBlocks * unbounded.bytesPerBlock.v * HOST_MARGIN) / MIB);
}

/** The planner's figures for a variant under `budget` (the host budget of selective-V included). */
export function plannerFor(spec: VariantSpec, budget: CapacityBudget, hostMib: number): CapacityPlan {
  return planCapacity(presetConfig(spec.preset), {
    dtype: budget.dtype,
    blockSizeTokens: budget.blockSizeTokens,
    deviceBytes: Math.floor(budget.deviceMib * MIB),
    mode: spec.mode,
    ...(spec.mode === "selective-v" ? { hostBytes: hostMib * MIB } : {}),
    gqaTwin: false,
  });
}

/** The worker's command line for a variant; `extra` carries the batch limits and the dtype flag. */
export function workerFlags(spec: VariantSpec, budget: CapacityBudget, hostMib: number, extra: string[]): string[] {
  return [
    "--preset",
    spec.preset,
    "--port",
    "0",
    "--worker-id",
    `capacity-${spec.variant}`,
    "--kv-device-mib",
    String(budget.deviceMib),
    "--block-size",
    String(budget.blockSizeTokens),
    ...(spec.mode === "selective-v" ? ["--kv-host-mib", String(hostMib), "--selective-v-topk", String(SELECTIVE_V_TOPK)] : []),
    ...extra,
  ];
}
