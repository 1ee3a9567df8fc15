/**
 * Feeds the worker pool and the KV index from the CoordBus: registry events
 * add and remove workers (a worker that leaves or restarts loses its index
 * entries), heartbeat loads refresh loads and let the index spot a lost tail
 * of KV events, and KV-event batches update the index. When the index asks
 * for a resync (a gap, a new epoch), the worker's snapshot is fetched over
 * control, page by page, and applied.
 */
import type { CoordBus, Subscription, WorkerWatch } from "@sigmaserve/coord";
import type { KvIndex } from "@sigmaserve/kv-index";
import { create } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { WorkerPool } from "../workers/worker-pool.js";
import { kvEventBatchFromProto, kvSnapshotFromProto } from "./kv-event-convert.js";

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
      await this.bus.subscribeKvEvents((batch) => {
        try {
          const resync = this.index.applyBatch(kvEventBatchFromProto(batch));
          if (resync !== null) this.resync(resync.workerId);
        } catch (err) {
          this.logger.warn({ err, workerId: batch.workerId }, "dropped a malformed KV event batch");
        }
      }),
    );
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
        const pages: coordv1.KvSnapshotResponse[] = [];
        let pageToken = "";
        do {
          const page = await this.bus.requestSnapshot(workerId, create(coordv1.KvSnapshotRequestSchema, { requesterId: "router", pageToken }));
          pages.push(page);
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        this.index.applySnapshot(kvSnapshotFromProto(pages));
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
