/**
 * The router's live set of workers: who is there (from the registry or a
 * static list), their last reported load, a gRPC client per worker, and the
 * load the router itself has added since that report (requests in flight),
 * so that a burst routed between two heartbeats is still spread.
 */
import { coordv1, createGrpcClient, messageSizeOptions, type ChannelSecurity, type ServiceClient, workerv1 } from "@sigmaserve/proto";

import { WorkerLostError } from "../generate/worker-lost.js";

const MIB = 2 ** 20;

export interface PooledWorker {
  readonly id: string;
  readonly address: string;
  info: coordv1.WorkerInfo;
  load: coordv1.WorkerLoad | undefined;
  readonly client: ServiceClient<typeof workerv1.WorkerService>;
  /** Requests this router has in flight on the worker. */
  inFlight: number;
  /** KV blocks those requests will hold at most (prompt + max_tokens), as routed. */
  inFlightBlocks: number;
  /** Until when (ms since the epoch) the worker is skipped after a failure. */
  quarantinedUntilMs: number;
  /**
   * Set when one of its streams stalled or it could not be reached (dispatcher.ts): the worker takes nothing
   * new until its next load report shows it alive again (a stalled or dead process sends none). Cleared by
   * updateLoad.
   */
  stalled: boolean;
  /** The attempts running on the worker, aborted when it leaves the pool (its heartbeats stopped). */
  readonly attempts: Set<AbortController>;
}

export type PoolListener = (event: { kind: "added" | "removed"; worker: PooledWorker }) => void;

export class WorkerPool {
  private readonly workers = new Map<string, PooledWorker>();
  private readonly listeners = new Set<PoolListener>();

  constructor(private readonly options: { maxMessageMib: number; /** TLS to the workers (--worker-tls-*); plaintext without. */ security?: ChannelSecurity | undefined }) {}

  /** A client to the worker at `address`, over the pool's credentials: the one way the router dials a worker. */
  dial(address: string): ServiceClient<typeof workerv1.WorkerService> {
    const security = this.options.security;
    return createGrpcClient(workerv1.WorkerService, address, {
      ...(security === undefined ? {} : { credentials: security.credentials }),
      channelOptions: { ...messageSizeOptions(this.options.maxMessageMib * MIB), ...security?.channelOptions },
    });
  }

  onChange(listener: PoolListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a worker or refreshes its info; a new address or epoch replaces the entry. */
  upsert(info: coordv1.WorkerInfo): PooledWorker {
    const existing = this.workers.get(info.workerId);
    if (existing !== undefined && existing.address === info.grpcAddress && existing.info.epoch === info.epoch) {
      existing.info = info;
      return existing;
    }
    if (existing !== undefined) this.remove(info.workerId);
    const worker: PooledWorker = {
      id: info.workerId,
      address: info.grpcAddress,
      info,
      load: undefined,
      client: this.dial(info.grpcAddress),
      inFlight: 0,
      inFlightBlocks: 0,
      quarantinedUntilMs: 0,
      stalled: false,
      attempts: new Set(),
    };
    this.workers.set(worker.id, worker);
    for (const listener of this.listeners) listener({ kind: "added", worker });
    return worker;
  }

  remove(workerId: string): void {
    const worker = this.workers.get(workerId);
    if (worker === undefined) return;
    this.workers.delete(workerId);
    // NOTE: closing the channel does not end the calls on it; a worker that stopped heartbeating may hold
    // streams that would never end (a SIGSTOPped process): each is failed over now.
    for (const attempt of worker.attempts) attempt.abort(new WorkerLostError(workerId, "removed", `worker ${workerId} left the pool (its heartbeats stopped)`));
    worker.client.close();
    for (const listener of this.listeners) listener({ kind: "removed", worker });
  }

  updateLoad(load: coordv1.WorkerLoad): void {
    const worker = this.workers.get(load.workerId);
    if (worker !== undefined && load.epoch === worker.info.epoch) {
      worker.load = load;
      worker.stalled = false;
    }
  }

  get(workerId: string): PooledWorker | undefined {
    return this.workers.get(workerId);
  }

  list(): PooledWorker[] {
    return [...this.workers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Workers that serve `model`, are ready and are not quarantined. */
  routable(model: string, nowMs: number): PooledWorker[] {
    return this.list().filter(
      (w) => w.info.model?.id === model && w.quarantinedUntilMs <= nowMs && !w.stalled && (w.load === undefined || w.load.state === coordv1.WorkerState.READY),
    );
  }

  /** The ids of the models any worker serves. */
  models(): string[] {
    return [...new Set(this.list().map((w) => w.info.model?.id ?? ""))].filter((m) => m !== "").sort();
  }

  close(): void {
    for (const id of [...this.workers.keys()]) this.remove(id);
  }
}
