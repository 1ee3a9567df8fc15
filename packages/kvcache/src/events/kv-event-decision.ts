/**
 * What a `KvEventConsumer` tells its caller to do with each message. The
 * caller owns the state (the router's index); the consumer only keeps the
 * cursor per worker, so every decision is something the caller acts on.
 */
import type { KvEvent } from "./kv-event.js";

/** Why the caller must fetch a snapshot. */
export type KvResyncReason =
  /** Events between the applied seq and what arrived were lost. The caller's state is still exact as of `expectedSeq − 1`. */
  | "gap"
  /** The worker restarted (or this is an epoch not seen before): drop everything known for the worker now. */
  | "new-epoch";

/** Ask the worker for a snapshot and hand it to `applySnapshot`. While one is awaited, every message of that worker repeats this answer (a caller with a request in flight may ignore repeats; one without retries). */
export interface KvResyncDecision {
  action: "resync";
  reason: KvResyncReason;
  /** The seq the consumer would have applied next (1 after a new epoch). */
  expectedSeq: number;
}

export type KvBatchDecision =
  /**
   * Apply these events, in order, to the worker's state. They are exactly the
   * batch's events the consumer had not applied yet (an overlapping batch
   * yields only its new tail). NOTE: a `cleared` event passes through like the
   * others and is authoritative: on it, drop every block of this worker.
   */
  | { action: "apply"; events: KvEvent[] }
  /** Nothing to do: a late batch of a retired epoch, or one whose events were all applied already. */
  | { action: "ignore"; reason: "stale-epoch" | "duplicate" }
  | KvResyncDecision;

export type KvHeartbeatDecision =
  /** The cursor is consistent with the heartbeat (or the tail is still within its grace). */
  | { action: "ok" }
  | KvResyncDecision;

export type KvSnapshotDecision =
  /** Replace everything known for the worker with the snapshot's residency. */
  | { action: "apply" }
  /** Keep the current state: a snapshot of a retired epoch, or older than what is applied already. */
  | { action: "ignore"; reason: "stale-epoch" | "outdated" };

/** Where the consumer stands for one worker. */
export interface KvWorkerCursor {
  epoch: bigint;
  /** Seq of the last event applied (or the snapshot's asOfSeq); the state is exact as of it unless a resync is pending. */
  appliedSeq: number;
  /** The reason of a resync whose snapshot has not arrived yet, or null when in sync. */
  resyncPending: KvResyncReason | null;
}
