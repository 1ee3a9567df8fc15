/**
 * The end-of-soak checks against the cluster itself, after the traffic has
 * stopped:
 *
 * - quiesce: every worker's used KV blocks (GetLoad, instant: not the
 *   heartbeat) and running / waiting requests reach 0, and the router's
 *   in-flight requests (/v1/cluster: per worker and admission) reach 0.
 *   Whatever is left after `quiesceMs` is leaked.
 * - index drift: the router's KV index (/v1/cluster `index.per_worker`:
 *   blocks per component and tier, and its event cursor) against each
 *   worker's own count (GetLoad: used + cached free blocks per component and
 *   tier; used is 0 after the quiesce, so that is exactly its hashed,
 *   published blocks). Drift is the sum of the absolute differences, plus
 *   the blocks the index still holds for a worker that is gone. It is read
 *   from two routers: the soak's own (fed by events through every fault)
 *   and an observer started now, whose index comes from the workers'
 *   snapshots only (the resync path).
 */
import { createGrpcClient, kvv1, workerv1 } from "@sigmaserve/proto";
import { setTimeout as sleep } from "node:timers/promises";
import type { FleetWorker } from "./fleet.js";

const POLL_MS = 250;
const CALL_TIMEOUT_MS = 3_000;

type Counts = Record<"k" | "v", Record<"device" | "host", number>>;
const zero = (): Counts => ({ k: { device: 0, host: 0 }, v: { device: 0, host: 0 } });

export interface WorkerLoadView {
  id: string;
  usedBlocks: number;
  /** used + cached free, per component and tier. */
  held: Counts;
  running: number;
  waiting: number;
  lastKvEventSeq: number;
}

export async function workerLoad(worker: FleetWorker): Promise<WorkerLoadView> {
  const client = createGrpcClient(workerv1.WorkerService, worker.address);
  try {
    const load = (await client.getLoad({}, { timeoutMs: CALL_TIMEOUT_MS })).load!;
    const held = zero();
    let usedBlocks = 0;
    for (const pool of load.kvUsage) {
      const component = pool.component === kvv1.KvComponent.K ? "k" : "v";
      const tier = pool.tier === kvv1.KvTier.HOST ? "host" : "device";
      held[component][tier] += pool.usedBlocks + pool.cachedFreeBlocks;
      usedBlocks += pool.usedBlocks;
    }
    return { id: worker.id, usedBlocks, held, running: load.runningRequests, waiting: load.waitingRequests, lastKvEventSeq: Number(load.lastKvEventSeq) };
  } finally {
    client.close();
  }
}

interface ClusterView {
  router: { in_flight: number; admission: { in_flight: number; queued: number } };
  workers: { id: string; router_in_flight: number }[];
  index: { per_worker: { worker_id: string; blocks: Counts; sync: { applied_seq: number; resync_pending: string | null } | null }[] };
}

export async function clusterView(httpAddress: string, apiKey: string): Promise<ClusterView> {
  const response = await fetch(`http://${httpAddress}/v1/cluster`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`GET /v1/cluster answered ${response.status}`);
  return (await response.json()) as ClusterView;
}

export interface QuiesceResult {
  /** How long it took to reach 0 everywhere, ms; null when it never did. */
  settledAfterMs: number | null;
  leakedBlocks: number;
  perWorker: { id: string; usedBlocks: number; running: number; waiting: number }[];
  routerInFlight: number;
  admissionInFlight: number;
  admissionQueued: number;
}

export async function quiesce(workers: readonly FleetWorker[], httpAddress: string, apiKey: string, quiesceMs: number): Promise<QuiesceResult> {
  const startMs = performance.now();
  for (;;) {
    const loads = await Promise.all(workers.map(workerLoad));
    const cluster = await clusterView(httpAddress, apiKey);
    const result: QuiesceResult = {
      settledAfterMs: null,
      leakedBlocks: loads.reduce((sum, l) => sum + l.usedBlocks, 0),
      perWorker: loads.map((l) => ({ id: l.id, usedBlocks: l.usedBlocks, running: l.running, waiting: l.waiting })),
      routerInFlight: cluster.router.in_flight,
      admissionInFlight: cluster.router.admission.in_flight,
      admissionQueued: cluster.router.admission.queued,
    };
    const settled = result.leakedBlocks === 0 && loads.every((l) => l.running === 0 && l.waiting === 0) && result.routerInFlight === 0 && result.admissionInFlight === 0 && result.admissionQueued === 0;
    if (settled) result.settledAfterMs = Math.round(performance.now() - startMs);
    if (settled || performance.now() - startMs > quiesceMs) return result;
    await sleep(POLL_MS);
  }
}

export interface DriftResult {
  /** Sum of |router − worker| over live workers, components and tiers, plus blocks indexed for gone workers. */
  driftBlocks: number;
  /** Whether every live worker's cursor reached its last published seq with no resync pending. */
  inSync: boolean;
  /** How long it took to reach zero drift and sync, ms; null when it never did. */
  settledAfterMs: number | null;
  perWorker: { id: string; worker: Counts; router: Counts | null; appliedSeq: number | null; lastKvEventSeq: number; resyncPending: string | null }[];
  /** Workers the index still knows that no longer run, with their indexed blocks. */
  staleWorkers: { id: string; blocks: number }[];
}

const total = (c: Counts) => c.k.device + c.k.host + c.v.device + c.v.host;

/** Polls until the router's index agrees with every worker (or `waitMs` passes) and returns the last comparison. */
export async function indexDrift(workers: readonly FleetWorker[], httpAddress: string, apiKey: string, waitMs: number): Promise<DriftResult> {
  const startMs = performance.now();
  for (;;) {
    const loads = await Promise.all(workers.map(workerLoad));
    const { index } = await clusterView(httpAddress, apiKey);
    const live = new Set(workers.map((w) => w.id));
    let driftBlocks = 0;
    let inSync = true;
    const perWorker = loads.map((load) => {
      const entry = index.per_worker.find((p) => p.worker_id === load.id);
      const router = entry?.blocks ?? null;
      for (const c of ["k", "v"] as const) for (const t of ["device", "host"] as const) driftBlocks += Math.abs(load.held[c][t] - (router?.[c][t] ?? 0));
      const appliedSeq = entry?.sync?.applied_seq ?? null;
      const resyncPending = entry?.sync?.resync_pending ?? null;
      if (appliedSeq !== load.lastKvEventSeq || resyncPending !== null) inSync = false;
      return { id: load.id, worker: load.held, router, appliedSeq, lastKvEventSeq: load.lastKvEventSeq, resyncPending };
    });
    const staleWorkers = index.per_worker.filter((p) => !live.has(p.worker_id)).map((p) => ({ id: p.worker_id, blocks: total(p.blocks) }));
    driftBlocks += staleWorkers.reduce((sum, s) => sum + s.blocks, 0);
    const settled = driftBlocks === 0 && inSync;
    const result: DriftResult = { driftBlocks, inSync, settledAfterMs: settled ? Math.round(performance.now() - startMs) : null, perWorker, staleWorkers };
    if (settled || performance.now() - startMs > waitMs) return result;
    await sleep(POLL_MS);
  }
}
