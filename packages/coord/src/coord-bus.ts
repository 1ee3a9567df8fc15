/**
 * CoordBus: everything a worker and a router say to each other outside the
 * token stream (DESIGN.md §8). Two implementations serve it: `nats/` for a
 * cluster and `memory/` for a single process, and one scenario suite
 * (testing/coord-bus-scenarios.ts) holds both to the same behaviour.
 *
 * Model:
 * - Registry. A worker registers its WorkerInfo under its id and heartbeats.
 *   Each heartbeat publishes the WorkerLoad on `sigmaserve.load.<id>` (fire and
 *   forget, never stored) and re-puts the entry, which restarts its TTL. An
 *   entry that is not re-put within the TTL disappears. A watcher gets the
 *   current set first ("joined" for each), then changes. Ids are the key, so a
 *   worker that restarts under the same id with a new epoch is reported as
 *   "left" (reason "restarted") then "joined": every block the router believed
 *   it held is gone.
 * - KV events. The bus speaks @sigmaserve/kvcache's event and snapshot types
 *   (KvEventBatch, KvSnapshot) and owns the only codec to and from protobuf
 *   (core/kv-event-codec.ts): a KvEventBatch message on `sigmaserve.kv.<id>`,
 *   in publish order, at most once. A consumer spots a lost batch by its seq
 *   (or by WorkerLoad's last_kv_event_seq) and asks for a snapshot over
 *   control. A batch it cannot read exactly (an unknown event kind, an
 *   UNSPECIFIED component or tier) is delivered as "undecodable", naming the
 *   worker, so the consumer resyncs that worker; nothing is guessed.
 * - Control. Request/reply on `sigmaserve.ctl.<id>.<verb>`. Absent responders
 *   fail fast with NoResponderError; slow ones with ControlTimeoutError.
 *
 * Every message travels as protobuf binary and is refused with
 * PayloadTooLargeError when its encoding exceeds `maxPayloadBytes`. KV bytes
 * never ride the bus. Background failures (an undecodable registry entry or
 * load, a callback that threw, a watcher re-listing after a reconnect) go to
 * the bus's `onError` option; they never throw into the caller.
 */
import type { KvEventBatch, KvSnapshot } from "@sigmaserve/kvcache/events";
import type { coordv1 } from "@sigmaserve/proto";
import type { KvDecodeError } from "./errors.js";
import type { KvObjectStore, KvObjectStoreOptions } from "./kv-object-store.js";
import type { LeaderElection, LeaderElectionOptions } from "./leader-election.js";

/** Something to stop: a watch or a subscription. close() is idempotent. */
export interface Subscription {
  close(): Promise<void>;
}

/** Why a worker left the registry. */
export type WorkerLeftReason =
  /** It deregistered (its entry was deleted or purged). */
  | "deregistered"
  /** It stopped heartbeating and its entry's TTL ran out. */
  | "expired"
  /** It registered again under the same id with a new epoch (a process restart). */
  | "restarted"
  /**
   * It was missing when the registry was re-listed after a reconnect (it expired
   * meanwhile, or the server lost its store) and was not written again within one TTL.
   */
  | "lost";

/** A change in the registry, as a watcher sees it. */
export type WorkerEvent =
  | { kind: "joined"; workerId: string; info: coordv1.WorkerInfo }
  | { kind: "updated"; workerId: string; info: coordv1.WorkerInfo; previous: coordv1.WorkerInfo }
  /** `info` is the last WorkerInfo the watcher knew. */
  | { kind: "left"; workerId: string; info: coordv1.WorkerInfo; reason: WorkerLeftReason };

/** A watch of the registry; also a live view of the set it has reported. */
export interface WorkerWatch extends Subscription {
  /** The workers currently joined, by id, as reported so far. */
  workers(): ReadonlyMap<string, coordv1.WorkerInfo>;
}

/** The worker's handle on its registry entry. */
export interface WorkerRegistration {
  readonly workerId: string;
  /** The WorkerInfo currently registered. */
  readonly info: coordv1.WorkerInfo;
  /**
   * Publishes `load` (its workerId must be this worker's) and re-puts the entry,
   * restarting its TTL (and re-creating it, bucket included, if it is gone).
   * Call it every heartbeat interval (see startHeartbeats()). Rejects with
   * CoordUnavailableError during an outage; just call it again next interval.
   */
  heartbeat(load: coordv1.WorkerLoad): Promise<void>;
  /** Replaces the registered WorkerInfo (same worker id). Watchers see "updated". */
  update(info: coordv1.WorkerInfo): Promise<void>;
  /** Deletes the entry (watchers see "left", reason "deregistered"); later calls reject with CoordClosedError. */
  deregister(): Promise<void>;
}

/**
 * What subscribeKvEvents delivers, in arrival order per worker: either a batch
 * read exactly, or the news that a message on that worker's KV-event subject
 * could not be read.
 */
export type KvEventDelivery =
  /** A batch, decoded exactly: every event kind, component and tier known, seqs numbered firstSeq + i. */
  | { kind: "batch"; batch: KvEventBatch }
  /**
   * A message from `workerId` this build cannot read (see KvDecodeError: an
   * unknown event kind from a newer worker, an UNSPECIFIED component or tier,
   * bytes that are not protobuf). Its events are lost to this consumer, so the
   * state it holds for the worker is exact only up to the last batch it
   * applied: resync the worker (fetch a snapshot). Never clear it: the worker's
   * cache did not change because we failed to read about it.
   */
  | { kind: "undecodable"; workerId: string; error: KvDecodeError };

/** One page of a worker's cache residency, and the token of the next page ("" on the last). */
export interface KvSnapshotPage {
  /** The residency on this page; every page of one snapshot repeats its workerId, epoch and asOfSeq. */
  page: KvSnapshot;
  nextPageToken: string;
}

/** The control verbs a worker serves; a verb without a handler has no responder. */
/** What a control handler learns besides the request: its headers (e.g. `traceparent`), empty when none came. */
export interface ControlContext {
  readonly headers: Readonly<Record<string, string>>;
}

export interface ControlHandlers {
  /** One page of the worker's cache residency (`request.pageToken` "" asks for the first page of a new snapshot). */
  snapshot?(request: coordv1.KvSnapshotRequest, context: ControlContext): Promise<KvSnapshotPage>;
  /** Stop admitting; report where the drain stands. */
  drain?(command: coordv1.DrainCommand, context: ControlContext): Promise<coordv1.DrainStatus>;
  /** On the target worker: a source offers blocks. */
  migrateOffer?(offer: coordv1.MigrationOffer, context: ControlContext): Promise<coordv1.MigrationReply>;
  /** On the source worker: the target finished pulling. */
  migrateDone?(done: coordv1.MigrationDone, context: ControlContext): Promise<void>;
  /** On the source worker: move a chain to a target (offer it, wait for the pull); answers how it ended. */
  migrateRequest?(request: coordv1.MigrationRequest, context: ControlContext): Promise<coordv1.MigrationResult>;
}

export interface ControlRequestOptions {
  /** Default: the bus's controlTimeoutMs (DEFAULT_CONTROL_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Headers sent with the request (NATS message headers; single-line values), e.g. the W3C trace context. */
  headers?: Readonly<Record<string, string>>;
}

export interface WorkerFilter {
  /** Only this worker's messages; default: every worker's. */
  workerId?: string;
}

export interface CoordBus {
  /** Largest encoded message this bus sends, in bytes. */
  readonly maxPayloadBytes: number;

  // --- worker side ---

  /** Puts `info` in the registry under `info.workerId` and returns the handle that keeps it alive. */
  register(info: coordv1.WorkerInfo): Promise<WorkerRegistration>;
  /**
   * Encodes `batch` (stamped with the publish time) and publishes it on
   * `sigmaserve.kv.<batch.workerId>`. Rejects with CoordArgumentError for a
   * batch whose seqs do not run firstSeq, firstSeq + 1, …, and with
   * CoordUnavailableError during an outage (the batch is lost; seqs reveal it).
   */
  publishKvEvents(batch: KvEventBatch): Promise<void>;
  /** Serves control requests for `workerId` until the subscription is closed. */
  serveControl(workerId: string, handlers: ControlHandlers): Promise<Subscription>;

  // --- router side ---

  /**
   * Reports the registry: "joined" for every current worker before the
   * promise resolves, then every change. During an outage the view is frozen;
   * after the reconnect it re-lists and reports the difference, so a "left"
   * missed meanwhile is not missed: a worker deleted meanwhile leaves at once,
   * one missing from the listing leaves ("lost") unless it heartbeats within
   * one TTL (live workers do; see WorkerTable for why it waits).
   */
  watchWorkers(onEvent: (event: WorkerEvent) => void): Promise<WorkerWatch>;
  /** Delivers heartbeat loads as they are published (no replay: the next one comes within a heartbeat interval). */
  subscribeLoads(onLoad: (load: coordv1.WorkerLoad) => void, filter?: WorkerFilter): Promise<Subscription>;
  /**
   * Delivers KV-event batches in publish order per worker, decoded, and every
   * message on a KV-event subject that does not decode as an "undecodable"
   * delivery naming its worker (by the subject's worker id).
   */
  subscribeKvEvents(onDelivery: (delivery: KvEventDelivery) => void, filter?: WorkerFilter): Promise<Subscription>;
  /**
   * Asks `workerId` for one page of its residency, decoded. Rejects with
   * KvDecodeError when the page cannot be read exactly (or names another
   * worker), besides the control errors of every request.
   */
  requestSnapshot(workerId: string, request: coordv1.KvSnapshotRequest, options?: ControlRequestOptions): Promise<KvSnapshotPage>;
  requestDrain(workerId: string, command: coordv1.DrainCommand, options?: ControlRequestOptions): Promise<coordv1.DrainStatus>;
  offerMigration(
    targetWorkerId: string,
    offer: coordv1.MigrationOffer,
    options?: ControlRequestOptions,
  ): Promise<coordv1.MigrationReply>;
  reportMigrationDone(sourceWorkerId: string, done: coordv1.MigrationDone, options?: ControlRequestOptions): Promise<void>;
  /**
   * Asks `sourceWorkerId` to move a chain it holds to a target and waits for
   * the outcome (a pull takes as long as the bytes do: pass a timeoutMs that
   * covers it).
   */
  requestMigration(sourceWorkerId: string, request: coordv1.MigrationRequest, options?: ControlRequestOptions): Promise<coordv1.MigrationResult>;

  // --- the KV remote tier ---

  /**
   * Opens a bucket of the shared remote tier (kv-object-store.ts), creating
   * it with these limits if it does not exist: a JetStream object store on
   * NATS, shared through the hub in memory. Rejects with CoordArgumentError
   * for a bad name or limit, CoordUnavailableError during an outage.
   */
  openObjectStore(options: KvObjectStoreOptions): Promise<KvObjectStore>;

  // --- leader election ---

  /**
   * Contends for the named lease (leader-election.ts) until closed: one
   * contender of all buses on the cluster holds it at a time. Resolves after
   * the first attempt, so isLeader() already tells whether this one won.
   * Rejects with CoordArgumentError for a bad name, holder id or TTL.
   */
  campaign(options: LeaderElectionOptions): Promise<LeaderElection>;

  // --- cluster secrets ---

  /**
   * The named secret shared by every bus on the cluster: CLUSTER_SECRET_BYTES
   * random bytes, created by whichever caller asks first (compare-and-set, so
   * two that race get the same bytes) and never changed afterwards (delete the
   * entry to rotate). In the JetStream KV bucket SECRETS_BUCKET on NATS: anyone
   * who may read that bucket may read the secret (restrict it with NATS
   * permissions). Rejects with CoordArgumentError for a bad name,
   * CoordUnavailableError during an outage.
   */
  clusterSecret(name: string): Promise<Uint8Array>;

  /**
   * Stops every watch and subscription of this bus and releases its connection.
   * Registry entries stay until their TTL runs out (deregister first to leave at once).
   * Later calls reject with CoordClosedError.
   */
  close(): Promise<void>;
}
