/**
 * What the selectors see of the routable workers, and which block hashes a
 * request has on each of them.
 *
 * Load: the worker's last heartbeat (K and V usage per tier, as pinned / all
 * blocks) plus the router's own bookkeeping of what it routed since
 * (requests and blocks in flight). A worker that runs selective V
 * (WorkerInfo.selective_v_topk > 0) keeps V on the host by design, which the
 * selectors need to know to read its V residency and V pressure.
 *
 * Hash specs: a block hash depends on the algorithm, the seed and the block
 * size (KvHashSpec), which each worker publishes in its WorkerInfo. The
 * router hashes a prompt once per spec among the candidates and never
 * compares one spec's hashes or block counts with another's: candidates are
 * grouped by spec. A worker whose spec the router does not implement (or
 * that publishes none) is still routable on load, with no cache overlap.
 */
import { kvComponentFromProto, kvTierFromProto } from "@sigmaserve/coord";
import type { KvIndex, KvUsageRatios, WorkerLoad, WorkerOverlap, WorkerSelection, WorkerSelector } from "@sigmaserve/kv-index";
import { KV_HASH_ALGORITHM, describeHashSpec, prefixBlockHashes, type KvHashSpec } from "@sigmaserve/kvcache/hash";
import type { PooledWorker } from "../workers/worker-pool.js";

/**
 * Tokens per block assumed for a worker that publishes no usable spec, for
 * the in-flight block bookkeeping only (kvcache's default block size).
 */
export const FALLBACK_BLOCK_SIZE_TOKENS = 16;

/** Candidates that share one hash spec (or, with `spec` null, the ones the router cannot hash for). */
export interface HashSpecGroup {
  /** Null for workers with no usable spec: they get no overlap. */
  spec: KvHashSpec | null;
  blockSizeTokens: number;
  workers: PooledWorker[];
}

/**
 * Specs by registry entry: a WorkerInfo is replaced, never mutated, so its spec
 * is read once instead of on every routing decision (a hot path).
 */
const specs = new WeakMap<object, KvHashSpec | null>();

/** The worker's spec when the router implements it; null otherwise. */
export function hashSpecOf(worker: PooledWorker): KvHashSpec | null {
  let spec = specs.get(worker.info);
  if (spec === undefined) {
    spec = readHashSpec(worker.info.kvHash);
    specs.set(worker.info, spec);
  }
  return spec;
}

function readHashSpec(published: PooledWorker["info"]["kvHash"]): KvHashSpec | null {
  if (published === undefined || published.algorithm !== KV_HASH_ALGORITHM) return null;
  try {
    return describeHashSpec({ blockSizeTokens: published.blockSizeTokens, seed: published.seed });
  } catch {
    return null; // a block size of 0 or the like: nothing this router can hash for
  }
}

/** Tokens per block of the worker's cache, for block arithmetic on its behalf. */
export function blockSizeOf(worker: PooledWorker): number {
  return hashSpecOf(worker)?.blockSizeTokens ?? FALLBACK_BLOCK_SIZE_TOKENS;
}

/** Candidates grouped by hash spec, groups in a stable order (the unhashable group last). */
export function groupByHashSpec(workers: readonly PooledWorker[]): HashSpecGroup[] {
  const groups = new Map<string, HashSpecGroup>();
  for (const worker of workers) {
    const spec = hashSpecOf(worker);
    const key = spec === null ? "~none" : `${spec.algorithm}/${spec.seed}/${spec.blockSizeTokens}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { spec, blockSizeTokens: spec?.blockSizeTokens ?? FALLBACK_BLOCK_SIZE_TOKENS, workers: [] };
      groups.set(key, group);
    }
    group.workers.push(worker);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => group);
}

/** Pinned / all blocks per component and tier from the worker's last heartbeat (all 0 before the first). */
export function kvUsageOf(worker: PooledWorker): KvUsageRatios {
  const usage: KvUsageRatios = { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } };
  for (const row of worker.load?.kvUsage ?? []) {
    const component = kvComponentFromProto(row.component);
    const tier = kvTierFromProto(row.tier);
    if (component === undefined || tier === undefined || row.totalBlocks === 0) continue;
    usage[component][tier] = Math.min(1, row.usedBlocks / row.totalBlocks);
  }
  return usage;
}

/** The selector's view of one candidate. */
export function workerLoadOf(worker: PooledWorker): WorkerLoad {
  return {
    workerId: worker.id,
    runningRequests: (worker.load?.runningRequests ?? 0) + worker.inFlight,
    waitingRequests: worker.load?.waitingRequests ?? 0,
    activeBlocks: worker.inFlightBlocks,
    kvUsage: kvUsageOf(worker),
    selectiveV: worker.info.selectiveVTopk > 0,
  };
}

export interface RouteRequest {
  model: string;
  promptTokens: readonly number[];
  cacheSalt: string;
}

export interface RouteChoice {
  worker: PooledWorker;
  /** The prompt's block hashes under the chosen worker's spec; empty when it has none the router implements. */
  hashes: bigint[];
  selection: WorkerSelection;
  /** The chosen worker's overlap (zero when none). */
  overlap: WorkerOverlap;
  /** Every worker's overlap with `hashes` (the chosen worker's spec group), and that group's block size. */
  overlaps: ReadonlyMap<string, WorkerOverlap>;
  blockSizeTokens: number;
}

const NO_OVERLAP: WorkerOverlap = { matchedBlocks: 0, deviceBlocks: 0, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 };

/**
 * Selects among `candidates`. One hash spec (the normal case): one selection.
 * Several (a rolling upgrade that changed the block size, say): one selection
 * per group, and the group winners compared by cost in tokens (a cost is in
 * its worker's blocks), ties to the smaller worker id. Policies that ignore
 * the cache (round_robin, least_loaded) see all candidates at once.
 */
export function selectWorker(selector: WorkerSelector, index: KvIndex, candidates: readonly PooledWorker[], request: RouteRequest, nowMs: number): RouteChoice | null {
  const groups = selector.policy === "kv_aware" ? groupByHashSpec(candidates) : [{ spec: null, blockSizeTokens: FALLBACK_BLOCK_SIZE_TOKENS, workers: [...candidates] }];
  let best: { choice: RouteChoice; costTokens: number } | null = null;
  for (const group of groups) {
    const hashes = group.spec === null ? [] : prefixBlockHashes(request.promptTokens, { blockSizeTokens: group.blockSizeTokens, seed: group.spec.seed, modelId: request.model, cacheSalt: request.cacheSalt });
    const overlap = hashes.length === 0 ? new Map<string, WorkerOverlap>() : index.overlap(hashes, { nowMs });
    const selection = selector.select({ candidates: group.workers.map(workerLoadOf), overlap, requestTokens: request.promptTokens.length, blockSizeTokens: group.blockSizeTokens });
    if (selection === null) continue;
    const worker = group.workers.find((w) => w.id === selection.workerId)!;
    // Cost in this worker's blocks → tokens, the one unit every group shares.
    const costTokens = (selection.costs.find((line) => line.workerId === worker.id)?.cost ?? 0) * group.blockSizeTokens;
    const choice: RouteChoice = { worker, hashes, selection, overlap: overlap.get(worker.id) ?? NO_OVERLAP, overlaps: overlap, blockSizeTokens: group.blockSizeTokens };
    if (best === null || costTokens < best.costTokens || (costTokens === best.costTokens && worker.id < best.choice.worker.id)) best = { choice, costTokens };
  }
  if (best === null) return null;
  // round_robin / least_loaded ran on one group without hashes: the chosen worker's hashes are still needed (speculation).
  if (best.choice.hashes.length === 0 && selector.policy !== "kv_aware") {
    const spec = hashSpecOf(best.choice.worker);
    if (spec !== null) {
      best.choice.hashes = prefixBlockHashes(request.promptTokens, { blockSizeTokens: spec.blockSizeTokens, seed: spec.seed, modelId: request.model, cacheSalt: request.cacheSalt });
      best.choice.overlaps = index.overlap(best.choice.hashes, { nowMs });
      best.choice.overlap = best.choice.overlaps.get(best.choice.worker.id) ?? NO_OVERLAP;
      best.choice.blockSizeTokens = spec.blockSizeTokens;
    }
  }
  return best.choice;
}
