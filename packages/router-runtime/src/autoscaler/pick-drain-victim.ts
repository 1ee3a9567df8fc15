/**
 * Which worker a scale-down removes: the one whose loss costs least. Its
 * running and waiting requests must move (by migration, token replay as the
 * fallback) and its cached blocks are lost to the cluster's prefix hits
 * unless migrated, so the cost is its requests first, then its blocks (K and
 * V, every tier, as the KV index knows them). Only READY workers are
 * candidates. Ties go to the highest id, so repeated scale-downs of an idle
 * cluster remove the newest-named workers first (worker-3 before worker-0).
 */
import { coordv1 } from "@sigmaserve/proto";
import type { KvBlockCounts } from "@sigmaserve/kv-index";
import type { PooledWorker } from "../workers/worker-pool.js";

export interface DrainCandidate {
  workerId: string;
  requests: number;
  blocks: number;
}

export function pickDrainVictim(workers: readonly PooledWorker[], blocksOf: (workerId: string) => KvBlockCounts | undefined): DrainCandidate | undefined {
  const candidates = workers
    .filter((w) => (w.load?.state ?? coordv1.WorkerState.READY) === coordv1.WorkerState.READY)
    .map((w) => {
      const counts = blocksOf(w.id);
      const blocks = counts === undefined ? 0 : counts.k.device + counts.k.host + counts.v.device + counts.v.host;
      return { workerId: w.id, requests: (w.load?.runningRequests ?? 0) + (w.load?.waitingRequests ?? 0) + w.inFlight, blocks };
    });
  candidates.sort((a, b) => a.requests - b.requests || a.blocks - b.blocks || (a.workerId < b.workerId ? 1 : a.workerId > b.workerId ? -1 : 0));
  return candidates[0];
}
