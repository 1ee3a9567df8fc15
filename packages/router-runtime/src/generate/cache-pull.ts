/**
 * Cache pulls: when the router sends a request to a worker that lacks part of
 * a prefix another worker holds (kv_aware kept away from the holder because
 * it is loaded, or another policy chose), it can have the holder move those
 * blocks to the chosen worker first, over the same migration path a drain
 * uses (migrate.request → offer → ExportKv → done), if moving them is cheaper
 * than computing them there.
 *
 * The cost model uses the chosen worker's own measurements from its load
 * reports, not constants:
 *   pull_ms      = missing blocks × block bytes / migration_bytes_per_s
 *   recompute_ms = missing blocks × block tokens / prefill_tokens_per_s
 * and the pull happens when pull_ms < recompute_ms. A worker that has never
 * pulled has no bandwidth yet; it gets one exploratory pull (when at least
 * `exploreBlocks` are missing), which measures it. Speculative claims are not
 * held blocks: only blocks the index saw stored count on the holder's side.
 */
import type { WorkerOverlap } from "@sigmaserve/kv-index";
import type { PooledWorker } from "../workers/worker-pool.js";

/** Fewest missing blocks worth a pull. */
export const DEFAULT_CACHE_PULL_MIN_BLOCKS = 4;
/** Fewest missing blocks for the one exploratory pull to a worker whose bandwidth is unmeasured. */
export const DEFAULT_CACHE_PULL_EXPLORE_BLOCKS = 16;

export interface CachePullPlan {
  holder: PooledWorker;
  /** The chain to move: the prompt's hashes up to what the holder has. */
  hashes: bigint[];
  /** Blocks the chosen worker lacks and the holder has. */
  missingBlocks: number;
  /** Estimates from the chosen worker's measurements, ms (NaN when its bandwidth is unmeasured: an exploratory pull). */
  pullMs: number;
  recomputeMs: number;
}

/** Bytes of one block, K and V together, on `worker` (from its registered pool capacities). */
export function blockBytesOf(worker: PooledWorker): number {
  const perComponent = new Map<number, bigint>();
  for (const pool of worker.info.kvCapacity) perComponent.set(pool.component, pool.blockBytes);
  let total = 0n;
  for (const bytes of perComponent.values()) total += bytes;
  return Number(total);
}

export function planCachePull(options: {
  target: PooledWorker;
  candidates: readonly PooledWorker[];
  overlap: ReadonlyMap<string, WorkerOverlap>;
  hashes: readonly bigint[];
  blockSizeTokens: number;
  minBlocks?: number;
  exploreBlocks?: number;
  /** Workers that already had their exploratory pull. */
  explored: ReadonlySet<string>;
}): CachePullPlan | null {
  const { target, overlap } = options;
  const held = (id: string) => {
    const o = overlap.get(id);
    return o === undefined ? 0 : o.matchedBlocks - o.speculativeBlocks;
  };
  let holder: PooledWorker | undefined;
  for (const worker of options.candidates) {
    if (worker.id !== target.id && held(worker.id) > (holder === undefined ? 0 : held(holder.id))) holder = worker;
  }
  if (holder === undefined) return null;
  const have = overlap.get(target.id)?.matchedBlocks ?? 0;
  const missingBlocks = Math.min(held(holder.id), options.hashes.length) - have;
  if (missingBlocks < (options.minBlocks ?? DEFAULT_CACHE_PULL_MIN_BLOCKS)) return null;
  const prefillRate = target.load?.prefillTokensPerS ?? 0;
  if (prefillRate <= 0) return null; // nothing to compare against yet
  const recomputeMs = (missingBlocks * options.blockSizeTokens * 1000) / prefillRate;
  const bandwidth = target.load?.migrationBytesPerS ?? 0;
  const hashes = options.hashes.slice(0, have + missingBlocks);
  if (bandwidth <= 0) {
    if (options.explored.has(target.id) || missingBlocks < (options.exploreBlocks ?? DEFAULT_CACHE_PULL_EXPLORE_BLOCKS)) return null;
    return { holder, hashes, missingBlocks, pullMs: Number.NaN, recomputeMs };
  }
  const pullMs = (missingBlocks * blockBytesOf(target) * 1000) / bandwidth;
  return pullMs < recomputeMs ? { holder, hashes, missingBlocks, pullMs, recomputeMs } : null;
}
