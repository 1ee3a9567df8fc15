/**
 * Feeds the worker pool and the KV index from the CoordBus: registry events
 * add and remove workers (a worker that leaves or restarts loses its index
 * entries), heartbeat loads refresh loads and let the index spot a lost tail
 * of KV events, and KV-event batches (decoded by the bus) update the index.
 * When the index asks for a resync (a gap, a new epoch), the worker's
 * snapshot is fetched over control, page by page, merged and applied.
 *
 * A batch the bus could not read (an unknown event kind from a newer worker,
 * an UNSPECIFIED component or tier) is a resync of that worker, never a
 * clear: its events are lost to us, exactly as if the batch had been dropped.
 * NOTE: the index's consumer never saw the batch, so its cursor stays at the
 * last applied seq and the state it holds is exact up to there. The snapshot
 * (the worker publishes its pending events before it snapshots, so asOfSeq
 * covers the lost batch) is taken by KvIndex.applySnapshot like any other;
 * a later batch that arrives first shows the consumer the hole and asks for
 * the same resync, and if the snapshot fails, the heartbeat's
 * last_kv_event_seq reveals the hole and asks again.
 */
import type { CoordBus, KvEventDelivery, Subscription, WorkerWatch } from "@sigmaserve/coord";
import type { KvIndex } from "@sigmaserve/kv-index";
import { mergeSnapshotPages, type KvSnapshot } from "@sigmaserve/kvcache/events";
import { create } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { WorkerPool } from "../workers/worker-pool.js";

export class BusDiscovery {
  private watch: WorkerWatch | undefined;
  private subscriptions: Subscription[] = [];
  private readonly resyncing = new Set<string>();

  constructor(
    private readonly bus: CoordBus,
    private readonly pool: WorkerPool,
    private readonly index: KvIndex,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.bus.watchWorkers((event) => {
      if (event.kind === "left") {
        this.pool.remove(event.workerId);
        this.index.removeWorker(event.workerId);
        this.logger.info({ workerId: event.workerId, reason: event.reason }, "worker left");
        return;
      }
      if (event.kind === "updated" && event.previous.epoch !== event.info.epoch) this.index.removeWorker(event.workerId);
      this.pool.upsert(event.info);
      if (event.kind === "joined") this.logger.info({ workerId: event.workerId, address: event.info.grpcAddress }, "worker joined");
    });
    this.subscriptions.push(
      await this.bus.subscribeLoads((load) => this.onLoad(load)),
      await this.bus.subscribeKvEvents((delivery) => this.onKvEvents(delivery)),
    );
  }

  private onKvEvents(delivery: KvEventDelivery): void {
    if (delivery.kind === "undecodable") {
      this.logger.warn({ err: delivery.error, workerId: delivery.workerId }, "unreadable KV event batch; resyncing the worker");
      this.resync(delivery.workerId);
      return;
    }
    try {
      const resync = this.index.applyBatch(delivery.batch);
      if (resync !== null) this.resync(resync.workerId);
    } catch (err) {
      // A batch that breaks the seq rules (KvEventBatchError): nothing applied; the next batch or heartbeat shows the hole.
      this.logger.warn({ err, workerId: delivery.batch.workerId }, "dropped a malformed KV event batch");
    }
  }

  private onLoad(load: coordv1.WorkerLoad): void {
    this.pool.updateLoad(load);
    if (this.pool.get(load.workerId) === undefined) return;
    const resync = this.index.heartbeat(load.workerId, load.epoch, Number(load.lastKvEventSeq));
    if (resync !== null) this.resync(resync.workerId);
  }

  /** Fetches the worker's whole residency (every page) and applies it. One resync per worker at a time. */
  private resync(workerId: string): void {
    if (this.resyncing.has(workerId)) return;
    this.resyncing.add(workerId);
    void (async () => {
      try {
        const pages: KvSnapshot[] = [];
        let pageToken = "";
        do {
          const { page, nextPageToken } = await this.bus.requestSnapshot(workerId, create(coordv1.KvSnapshotRequestSchema, { requesterId: "router", pageToken }));
          pages.push(page);
          pageToken = nextPageToken;
        } while (pageToken !== "");
        // Refuses pages of different snapshots (a worker that restarted mid-way).
        this.index.applySnapshot(mergeSnapshotPages(pages));
      } catch (err) {
        this.logger.warn({ err, workerId }, "KV snapshot failed; the next heartbeat retries");
      } finally {
        this.resyncing.delete(workerId);
      }
    })();
  }

  async stop(): Promise<void> {
    await this.watch?.close();
    await Promise.all(this.subscriptions.map((s) => s.close()));
    this.subscriptions = [];
  }
}
