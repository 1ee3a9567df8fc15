/**
 * GET /v1/cluster: what the router knows, for operators and the CLI.
 *
 *   workers[]:  id, address, model, epoch, state (from the last heartbeat;
 *               "unknown" before the first one), running / waiting requests,
 *               KV usage per component (k, v) and tier (device, host), the
 *               router's own in-flight requests and blocks on it, whether
 *               it is quarantined after a failure, and whether it is `stalled`
 *               (one of its streams went silent; it takes nothing new until
 *               its next load report); `selective_v` and
 *               `kv_pressure` {k, v}: the K and V pressure the kv_aware cost
 *               weighs (see kv-index's kv-pressure.ts); `kv_dtype` {k, v}:
 *               each component's pool element type (f32, bf16, f16), and
 *               `kv_tokens_per_gib`: tokens whose K and V fit in a GiB at
 *               those types (2^30 × block tokens ÷ the K and V block bytes),
 *               both from the worker's registry entry.
 *   router:     requests in flight through the workers, admission
 *               (running / queued), and
 *   index:      the KV index's stats (`KvIndex.stats()`), keys in snake_case
 *               like the rest of the body (`distinct_block_hashes`, `per_worker`).
 *   recent:     the last minute: requests per second, client-side TTFT p50 and
 *               p99, and the last routing decisions with every candidate's cost
 *               (metrics/recent-activity.ts), newest first.
 *
 * uint64 values (epochs) are written as decimal strings, as proto3 JSON does.
 */
import { kvComponentFromProto, kvDtypeFromProto, kvTierFromProto, type KvDtype } from "@sigmaserve/coord";
import { kvPressure } from "@sigmaserve/kv-index";
import type { coordv1 } from "@sigmaserve/proto";
import { workerLoadOf } from "../generate/route-candidates.js";
import type { RequestPipeline } from "../request-pipeline.js";
import type { PooledWorker } from "../workers/worker-pool.js";
import type { RecentActivityView } from "../metrics/recent-activity.js";

const STATES: Readonly<Record<number, string>> = { 0: "unspecified", 1: "starting", 2: "ready", 3: "draining", 4: "drained" };

export interface PoolUsage {
  used_blocks: number;
  cached_free_blocks: number;
  total_blocks: number;
}

/** Usage per component and tier; a pool the worker does not have is absent. */
export type KvUsageView = Record<"k" | "v", Partial<Record<"device" | "host", PoolUsage>>>;

export interface WorkerStatus {
  id: string;
  address: string;
  model: string;
  epoch: string;
  state: string;
  running_requests: number;
  waiting_requests: number;
  kv_usage: KvUsageView;
  selective_v: boolean;
  /** Pinned share (0…1) of the pool each component's new blocks land in. */
  kv_pressure: { k: number; v: number };
  /** Element type of each component's pools. */
  kv_dtype: { k: KvDtype; v: KvDtype };
  /** Tokens whose K and V fit in a GiB at those types; null when the worker did not publish its block sizes. */
  kv_tokens_per_gib: number | null;
  router_in_flight: number;
  router_in_flight_blocks: number;
  quarantined: boolean;
  /** A stream of it went silent for the stall timeout; not routed to until its next load report. */
  stalled: boolean;
  load_measured_at_unix_ms: number | null;
}

export interface ClusterStatus {
  object: "cluster";
  workers: WorkerStatus[];
  router: { in_flight: number; admission: { in_flight: number; queued: number } };
  /** `KvIndex.stats()` with snake_case keys. */
  index: unknown;
  recent: RecentActivityView;
}

/** `distinctBlockHashes` → `distinct_block_hashes`, recursively; values are kept. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(inner)]));
}

export function kvUsageView(usage: readonly coordv1.WorkerLoad["kvUsage"][number][]): KvUsageView {
  const view: KvUsageView = { k: {}, v: {} };
  for (const pool of usage) {
    const component = kvComponentFromProto(pool.component);
    const tier = kvTierFromProto(pool.tier);
    if (component === undefined || tier === undefined) continue;
    view[component][tier] = { used_blocks: pool.usedBlocks, cached_free_blocks: pool.cachedFreeBlocks, total_blocks: pool.totalBlocks };
  }
  return view;
}

/** Bytes in a GiB. */
const BYTES_PER_GIB = 2 ** 30;

/**
 * Each component's pool dtype and the K+V tokens a GiB holds, from a worker's
 * registry entry. A component's dtype is its capacity entries' (per pool);
 * failing that the entry's kv_dtype, and failing that f32: workers that
 * predate 16-bit pools published neither and stored f32.
 */
export function kvDensityView(info: Pick<coordv1.WorkerInfo, "kvCapacity" | "kvDtype" | "kvHash">): Pick<WorkerStatus, "kv_dtype" | "kv_tokens_per_gib"> {
  const fallback = kvDtypeFromProto(info.kvDtype) ?? "f32";
  const dtype: { k: KvDtype; v: KvDtype } = { k: fallback, v: fallback };
  const blockBytes: Partial<Record<"k" | "v", number>> = {};
  for (const pool of info.kvCapacity) {
    const component = kvComponentFromProto(pool.component);
    if (component === undefined) continue;
    dtype[component] = kvDtypeFromProto(pool.dtype) ?? dtype[component];
    blockBytes[component] = Number(pool.blockBytes);
  }
  const blockTokens = info.kvHash?.blockSizeTokens ?? 0;
  const perBlock = (blockBytes.k ?? 0) + (blockBytes.v ?? 0);
  const complete = blockTokens > 0 && blockBytes.k !== undefined && blockBytes.v !== undefined && perBlock > 0;
  return { kv_dtype: dtype, kv_tokens_per_gib: complete ? (BYTES_PER_GIB * blockTokens) / perBlock : null };
}

function workerStatus(worker: PooledWorker, nowMs: number): WorkerStatus {
  const load = worker.load;
  const candidate = workerLoadOf(worker);
  const pressure = kvPressure(candidate);
  return {
    id: worker.id,
    address: worker.address,
    model: worker.info.model?.id ?? "",
    epoch: worker.info.epoch.toString(),
    state: load === undefined ? "unknown" : (STATES[load.state] ?? `state_${load.state}`),
    running_requests: load?.runningRequests ?? 0,
    waiting_requests: load?.waitingRequests ?? 0,
    kv_usage: kvUsageView(load?.kvUsage ?? []),
    selective_v: candidate.selectiveV,
    kv_pressure: { k: pressure.k, v: pressure.v },
    ...kvDensityView(worker.info),
    router_in_flight: worker.inFlight,
    router_in_flight_blocks: worker.inFlightBlocks,
    quarantined: worker.quarantinedUntilMs > nowMs,
    stalled: worker.stalled,
    load_measured_at_unix_ms: load === undefined || load.measuredAtUnixMs === 0n ? null : Number(load.measuredAtUnixMs),
  };
}

export function clusterStatus(pipeline: RequestPipeline, nowMs: number = Date.now()): ClusterStatus {
  const workers = pipeline.pool.list();
  const admission = pipeline.admission.stats;
  return {
    object: "cluster",
    workers: workers.map((w) => workerStatus(w, nowMs)),
    router: { in_flight: workers.reduce((sum, w) => sum + w.inFlight, 0), admission: { in_flight: admission.inFlight, queued: admission.queued } },
    index: snakeCaseKeys(pipeline.index.stats()),
    recent: pipeline.recent.view(nowMs),
  };
}
