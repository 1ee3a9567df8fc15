/**
 * The worker on the CoordBus: it registers its WorkerInfo, heartbeats its
 * load, publishes its KV events in batches (every `flushIntervalMs`, with
 * epoch and per-event seq, so the router can spot a lost batch), and answers
 * control requests: snapshots of its cache residency (paged from one snapshot
 * taken on the first request; see snapshot-sessions.ts for how long the rest
 * waits), drain, and the verbs of KV migration (migrate.offer on the
 * target; migrate.done and migrate.request on the source; see migration/). Batches and pages go
 * to the bus as kvcache types; the bus owns the codec.
 *
 * A batch that fails to publish during an outage is dropped, not retried: the
 * seqs reveal the hole, and the router asks for a snapshot.
 */
import { create } from "@bufbuild/protobuf";
import { startHeartbeats, type ControlContext, type CoordBus, type HeartbeatLoop, type Subscription, type WorkerRegistration } from "@sigmaserve/coord";
import { pageSnapshot, type KvEventLog, type KvSnapshot } from "@sigmaserve/kvcache";
import { coordv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { SnapshotSessions } from "./snapshot-sessions.js";

/** How often pending KV events are published, ms. */
export const DEFAULT_KV_EVENT_FLUSH_MS = 20;
/** Most events per batch (a batch of stored events stays far below 1 MiB). */
export const MAX_EVENTS_PER_BATCH = 2_048;

/** What joinBus needs of a worker; a WorkerRuntime has it all. */
export interface BusMember {
  readonly config: { readonly workerId: string };
  readonly eventLog: KvEventLog;
  readonly kv: { snapshot(): KvSnapshot };
  workerInfo(): coordv1.WorkerInfo;
  workerLoad(): coordv1.WorkerLoad;
  drain(graceMs: number, options?: { migrate?: boolean }): Promise<void>;
  /** Its migration roles, when it has them: migrate.offer and migrate.done are served only then. */
  readonly migration?:
    | {
        target: { onOffer(offer: coordv1.MigrationOffer, headers?: Readonly<Record<string, string>>): Promise<coordv1.MigrationReply> };
        source: { onDone(done: coordv1.MigrationDone): void; onRequest(request: coordv1.MigrationRequest, headers?: Readonly<Record<string, string>>): Promise<coordv1.MigrationResult> };
      }
    | undefined;
}

export interface JoinBusOptions {
  flushIntervalMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a snapshot paging session lives after its last page, ms; default DEFAULT_SNAPSHOT_SESSION_TTL_MS. */
  snapshotSessionTtlMs?: number;
  /** Most snapshot paging sessions open at once; default DEFAULT_MAX_SNAPSHOT_SESSIONS. */
  maxSnapshotSessions?: number;
  /** The clock of the paging sessions, ms; default Date.now. */
  nowMs?: () => number;
}

export interface BusMembership {
  /** Publishes the worker's load now (a state change the router should see before the next heartbeat). */
  announce(): Promise<void>;
  stop(): Promise<void>;
}

export async function joinBus(runtime: BusMember, bus: CoordBus, logger: Logger, options: JoinBusOptions = {}): Promise<BusMembership> {
  const workerId = runtime.config.workerId;
  const registration: WorkerRegistration = await bus.register(runtime.workerInfo());
  let publishing = Promise.resolve();
  const flush = (): Promise<void> => {
    publishing = publishing.then(async () => {
      for (let batch = runtime.eventLog.takeBatch(MAX_EVENTS_PER_BATCH); batch !== null; batch = runtime.eventLog.takeBatch(MAX_EVENTS_PER_BATCH)) {
        await bus.publishKvEvents(batch).catch((err: unknown) => logger.warn({ err: (err as Error).message, firstSeq: batch.firstSeq }, "KV event batch lost; the router will resync"));
      }
    });
    return publishing;
  };
  const flushTimer = setInterval(() => void flush(), options.flushIntervalMs ?? DEFAULT_KV_EVENT_FLUSH_MS);
  flushTimer.unref();
  // Events go out before the heartbeat that announces their seq.
  const heartbeats: HeartbeatLoop = startHeartbeats(
    registration,
    () => runtime.workerLoad(),
    { ...(options.heartbeatIntervalMs === undefined ? {} : { intervalMs: options.heartbeatIntervalMs }), onError: (err) => logger.debug({ err: (err as Error).message }, "heartbeat failed") },
  );

  // Snapshot pages are cut from one snapshot per paging session, so every page has the same asOfSeq.
  const sessions = new SnapshotSessions({
    ...(options.snapshotSessionTtlMs === undefined ? {} : { ttlMs: options.snapshotSessionTtlMs }),
    ...(options.maxSnapshotSessions === undefined ? {} : { maxSessions: options.maxSnapshotSessions }),
    ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
  });
  const control: Subscription = await bus.serveControl(workerId, {
    snapshot: async (request) => {
      if (request.pageToken !== "") return sessions.next(request.pageToken);
      // Published events first, so the snapshot's asOfSeq covers every batch the requester may have seen.
      await flush();
      return sessions.open(pageSnapshot(runtime.kv.snapshot(), request.maxHashes > 0 ? request.maxHashes : undefined));
    },
    drain: async (command) => {
      void runtime.drain(command.graceMs, { migrate: command.migrate });
      const load = runtime.workerLoad();
      return create(coordv1.DrainStatusSchema, { workerId, state: load.state, runningRequests: load.runningRequests, waitingRequests: load.waitingRequests });
    },
    ...(runtime.migration === undefined
      ? {}
      : {
          migrateOffer: (offer: coordv1.MigrationOffer, context: ControlContext) => runtime.migration!.target.onOffer(offer, context.headers),
          migrateDone: async (done: coordv1.MigrationDone) => runtime.migration!.source.onDone(done),
          migrateRequest: (request: coordv1.MigrationRequest, context: ControlContext) => runtime.migration!.source.onRequest(request, context.headers),
        }),
  });
  logger.info({ workerId }, "joined the coordination bus");
  return {
    announce: async () => {
      await registration.heartbeat(runtime.workerLoad()).catch((err: unknown) => logger.debug({ err: (err as Error).message }, "load announcement failed"));
    },
    stop: async () => {
      clearInterval(flushTimer);
      await flush();
      await heartbeats.stop();
      await control.close();
      await registration.deregister().catch(() => {});
    },
  };
}
