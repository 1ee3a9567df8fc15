/**
 * KV-cache events: the worker's log numbers each change (seq rises by one per
 * event within an epoch), batches carry runs of them, snapshots carry the
 * whole residency as of a seq, and the consumer turns what arrives into apply /
 * ignore / resync decisions for the router's index.
 */

export { DEFAULT_SNAPSHOT_PAGE_MAX_HASHES, mergeSnapshotPages, pageSnapshot } from "./snapshot-pages.js";
export { KvEventArgumentError, KvEventBatchError, KvSnapshotError } from "./errors.js";
export type { KvEvent, KvEventBatch, KvEventBody, KvSnapshot } from "./kv-event.js";
export {
  DEFAULT_MAX_RETIRED_EPOCHS,
  DEFAULT_TAIL_LOSS_GRACE_HEARTBEATS,
  KvEventConsumer,
  type KvEventConsumerOptions,
} from "./kv-event-consumer.js";
export type {
  KvBatchDecision,
  KvHeartbeatDecision,
  KvResyncDecision,
  KvResyncReason,
  KvSnapshotDecision,
  KvWorkerCursor,
} from "./kv-event-decision.js";
export { KvEventLog, type KvEventLogOptions, randomKvEpoch } from "./kv-event-log.js";
export { type KvResidencyEntry, type KvResidencyGroup, buildSnapshot } from "./build-snapshot.js";
