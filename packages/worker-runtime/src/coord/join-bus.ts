/**
 * The worker on the CoordBus: it registers its WorkerInfo, heartbeats its
 * load, publishes its KV events in batches (every `flushIntervalMs`, with
 * epoch and per-event seq, so the router can spot a lost batch), and answers
 * control requests: snapshots of its cache residency (paged: a page token is
 * the page index of a snapshot taken on the first request) and drain.
 *
 * A batch that fails to publish during an outage is dropped, not retried: the
 * seqs reveal the hole, and the router asks for a snapshot.
 */
import { create } from "@bufbuild/protobuf";
import { startHeartbeats, type CoordBus, type HeartbeatLoop, type Subscription, type WorkerRegistration } from "@sigmaserve/coord";
import { pageSnapshot, type KvEvent, type KvSnapshot } from "@sigmaserve/kvcache";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { WorkerRuntime } from "../worker-runtime.js";

/** How often pending KV events are published, ms. */
export const DEFAULT_KV_EVENT_FLUSH_MS = 20;
/** Most events per batch (a batch of stored events stays far below 1 MiB). */
export const MAX_EVENTS_PER_BATCH = 2_048;

const COMPONENT = { k: kvv1.KvComponent.K, v: kvv1.KvComponent.V } as const;
const TIER = { device: kvv1.KvTier.DEVICE, host: kvv1.KvTier.HOST } as const;

function eventToProto(event: KvEvent): coordv1.KvEvent {
  switch (event.kind) {
    case "stored":
      return create(coordv1.KvEventSchema, {
        kind: {
          case: "stored",
          value: { component: COMPONENT[event.component], tier: TIER[event.tier], blockHashes: event.blockHashes, ...(event.parentBlockHash === undefined ? {} : { parentBlockHash: event.parentBlockHash }) },
        },
      });
    case "removed":
      return create(coordv1.KvEventSchema, { kind: { case: "removed", value: { component: COMPONENT[event.component], tier: TIER[event.tier], blockHashes: event.blockHashes } } });
    case "moved":
      return create(coordv1.KvEventSchema, {
        kind: { case: "moved", value: { component: COMPONENT[event.component], fromTier: TIER[event.fromTier], toTier: TIER[event.toTier], blockHashes: event.blockHashes } },
      });
    case "cleared":
      return create(coordv1.KvEventSchema, { kind: { case: "cleared", value: {} } });
  }
}

function snapshotPageToProto(page: KvSnapshot, nextPageToken: string): coordv1.KvSnapshotResponse {
  return create(coordv1.KvSnapshotResponseSchema, {
    workerId: page.workerId,
    epoch: page.epoch,
    asOfSeq: BigInt(page.asOfSeq),
    residency: page.residency.map((group) => ({ component: COMPONENT[group.component], tier: TIER[group.tier], blockHashes: group.blockHashes })),
    nextPageToken,
  });
}

export interface BusMembership {
  stop(): Promise<void>;
}

export async function joinBus(runtime: WorkerRuntime, bus: CoordBus, logger: Logger, options: { flushIntervalMs?: number; heartbeatIntervalMs?: number } = {}): Promise<BusMembership> {
  const workerId = runtime.config.workerId;
  const registration: WorkerRegistration = await bus.register(runtime.workerInfo());
  let publishing = Promise.resolve();
  const flush = (): Promise<void> => {
    publishing = publishing.then(async () => {
      for (let batch = runtime.eventLog.takeBatch(MAX_EVENTS_PER_BATCH); batch !== null; batch = runtime.eventLog.takeBatch(MAX_EVENTS_PER_BATCH)) {
        const message = create(coordv1.KvEventBatchSchema, {
          workerId,
          epoch: batch.epoch,
          firstSeq: BigInt(batch.firstSeq),
          events: batch.events.map(eventToProto),
          publishedAtUnixMs: BigInt(Date.now()),
        });
        await bus.publishKvEvents(message).catch((err: unknown) => logger.warn({ err: (err as Error).message, firstSeq: batch.firstSeq }, "KV event batch lost; the router will resync"));
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
  const sessions = new Map<string, KvSnapshot[]>();
  let nextSession = 0;
  const control: Subscription = await bus.serveControl(workerId, {
    snapshot: async (request) => {
      let pages: KvSnapshot[];
      let session: string;
      let index: number;
      if (request.pageToken === "") {
        await flush();
        session = String(nextSession++);
        pages = pageSnapshot(runtime.kv.snapshot(), request.maxHashes > 0 ? request.maxHashes : undefined);
        index = 0;
        if (pages.length > 1) sessions.set(session, pages);
      } else {
        const [id, page] = request.pageToken.split(":");
        pages = sessions.get(id ?? "") ?? [];
        session = id ?? "";
        index = Number(page);
        if (pages[index] === undefined) throw new Error(`page token "${request.pageToken}" is unknown or expired`);
      }
      const last = index === pages.length - 1;
      if (last) sessions.delete(session);
      return snapshotPageToProto(pages[index]!, last ? "" : `${session}:${index + 1}`);
    },
    drain: async (command) => {
      void runtime.drain(command.graceMs);
      const load = runtime.workerLoad();
      return create(coordv1.DrainStatusSchema, { workerId, state: load.state, runningRequests: load.runningRequests, waitingRequests: load.waitingRequests });
    },
  });
  logger.info({ workerId }, "joined the coordination bus");
  return {
    stop: async () => {
      clearInterval(flushTimer);
      await flush();
      await heartbeats.stop();
      await control.close();
      await registration.deregister().catch(() => {});
    },
  };
}
