/**
 * @sigmaserve/kv-index — the router's view of which worker holds which block
 * hashes, per component (K, V) and tier (device, host), and the policies that
 * turn that view plus load into a pick. The pipeline, as in Dynamo's router:
 * events in → a pure index (`KvIndex`) → overlap scores → a `WorkerSelector`.
 * Synchronous, no I/O, no timers, no environment.
 */

/** The event types the index consumes, re-exported so a caller needs one import. */
export type { KvEventBatch, KvResyncReason, KvSnapshot, KvSnapshotDecision, KvWorkerCursor } from "@sigmaserve/kvcache/events";
export { KvIndexArgumentError, WorkerSelectorConfigError } from "./errors.js";
export { DEFAULT_SPECULATION_TTL_MS, KvIndex, type KvIndexOptions } from "./kv-index.js";
export type {
  KvBlockCounts,
  KvComponent,
  KvIndexOverlapOptions,
  KvIndexResidencyGroup,
  KvIndexStats,
  KvIndexWorkerStats,
  KvResyncRequest,
  KvTier,
  WorkerOverlap,
} from "./kv-index-types.js";
export { createWorkerSelector } from "./selectors/create-worker-selector.js";
export {
  DEFAULT_HOST_HIT_COST_RATIO,
  DEFAULT_LOAD_SLACK_BLOCKS,
  DEFAULT_LOAD_SLACK_RATIO,
  DEFAULT_OVERLAP_WEIGHT,
  DEFAULT_PRESSURE_KNEE,
  DEFAULT_PRESSURE_WEIGHT,
  DEFAULT_ROUTER_TEMPERATURE,
  KvAwareSelector,
  type KvAwareSelectorOptions,
  type KvAwareWorkerCost,
} from "./selectors/kv-aware-selector.js";
export { kvPressure, pressureExcess, type KvPressure } from "./selectors/kv-pressure.js";
export { LeastLoadedSelector } from "./selectors/least-loaded-selector.js";
export { RoundRobinSelector } from "./selectors/round-robin-selector.js";
export {
  DEFAULT_ROUTING_POLICY,
  ROUTING_POLICIES,
  type RoutingPolicy,
  type SelectionRequest,
  type WorkerCost,
  type KvUsageRatios,
  type WorkerLoad,
  type WorkerSelection,
  type WorkerSelector,
} from "./selectors/worker-selector.js";
