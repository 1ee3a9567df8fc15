/**
 * How full the pools are that a new request's blocks land in, per component.
 * K and V are separate pools and fill at different rates (V is 4x K per token
 * on Sigma-1.5B), so they are separate signals, and which tier counts is the
 * worker's mode's:
 *
 *   K pressure = usage of K on the device (attention reads all of K every step;
 *                K never leaves the device for a running request)
 *   V pressure = usage of V on the device                    (a plain worker: the
 *                host tier only keeps evicted prefixes, it never blocks a request)
 *              = max(V on the device, V on the host)          (a selective-V worker:
 *                new V lands on the device and moves to the host, where it lives)
 *
 * The binding pressure is the larger of the two: a new block needs room in
 * both pools, so the fuller one decides when the worker must evict or preempt.
 * Usage counts blocks pinned by running requests only (see WorkerLoad.kvUsage).
 */
import type { WorkerLoad } from "./worker-selector.js";

export interface KvPressure {
  /** 0…1. */
  k: number;
  /** 0…1. */
  v: number;
  /** max(k, v). */
  binding: number;
}

export function kvPressure(load: Pick<WorkerLoad, "kvUsage" | "selectiveV">): KvPressure {
  const k = load.kvUsage.k.device;
  const v = load.selectiveV ? Math.max(load.kvUsage.v.device, load.kvUsage.v.host) : load.kvUsage.v.device;
  return { k, v, binding: Math.max(k, v) };
}

/**
 * The part of `pressure` past `knee`, scaled to 0…1 (0 at or below the knee, 1
 * when full). Below the knee a pool has room and the cost ignores it.
 */
export function pressureExcess(pressure: number, knee: number): number {
  return knee >= 1 ? 0 : Math.max(0, pressure - knee) / (1 - knee);
}
