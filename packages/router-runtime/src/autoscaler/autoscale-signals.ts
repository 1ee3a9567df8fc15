/**
 * What the autoscaler decides on, read once per interval from the router's
 * own state: the workers' last heartbeats (waiting requests, K and V pool
 * usage per tier), the client-side TTFT the router measured, and the
 * admission rejections since the last reading. Only READY workers count
 * toward the averages: a STARTING one has no load yet, a DRAINING one is
 * leaving.
 */
import { coordv1 } from "@sigmaserve/proto";
import { kvUsageOf } from "../generate/route-candidates.js";
import type { PooledWorker } from "../workers/worker-pool.js";

export interface KvPressure {
  /** Mean used/total blocks over the ready workers, per component and tier, 0..1. */
  k: { device: number; host: number };
  v: { device: number; host: number };
}

export interface AutoscaleSignals {
  /** Workers in the registry by state. */
  ready: number;
  starting: number;
  draining: number;
  /** Waiting requests per ready worker (the vLLM num_requests_waiting figure, averaged). */
  waitingPerWorker: number;
  /** Running requests per ready worker. */
  runningPerWorker: number;
  kv: KvPressure;
  /** The highest of the four pool usages: K and V fill at different rates (V first; in selective-V mode V lives on the host). */
  kvPeak: number;
  /** Which pool the peak is (e.g. "v/host"), for the decision's reason. */
  kvPeakPool: string;
  /** Client-side TTFT p90 over the last interval, ms; null when nothing completed. */
  ttftP90Ms: number | null;
  /** Requests refused by admission since the previous reading. */
  admissionRejections: number;
}

export function readSignals(workers: readonly PooledWorker[], ttftP90Ms: number | null, admissionRejections: number): AutoscaleSignals {
  const byState = (state: coordv1.WorkerState) => workers.filter((w) => (w.load?.state ?? coordv1.WorkerState.READY) === state);
  const ready = byState(coordv1.WorkerState.READY);
  const n = ready.length;
  const mean = (f: (w: PooledWorker) => number) => (n === 0 ? 0 : ready.reduce((sum, w) => sum + f(w), 0) / n);
  const usages = ready.map(kvUsageOf);
  const meanUsage = (component: "k" | "v", tier: "device" | "host") => (n === 0 ? 0 : usages.reduce((sum, u) => sum + u[component][tier], 0) / n);
  const kv: KvPressure = { k: { device: meanUsage("k", "device"), host: meanUsage("k", "host") }, v: { device: meanUsage("v", "device"), host: meanUsage("v", "host") } };
  let kvPeak = 0;
  let kvPeakPool = "k/device";
  for (const component of ["k", "v"] as const) {
    for (const tier of ["device", "host"] as const) {
      if (kv[component][tier] > kvPeak) [kvPeak, kvPeakPool] = [kv[component][tier], `${component}/${tier}`];
    }
  }
  return {
    ready: n,
    starting: byState(coordv1.WorkerState.STARTING).length,
    draining: byState(coordv1.WorkerState.DRAINING).length + byState(coordv1.WorkerState.DRAINED).length,
    waitingPerWorker: mean((w) => w.load?.waitingRequests ?? 0),
    runningPerWorker: mean((w) => w.load?.runningRequests ?? 0),
    kv,
    kvPeak,
    kvPeakPool,
    ttftP90Ms,
    admissionRejections,
  };
}
