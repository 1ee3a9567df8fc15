/**
 * The CoordBus both implementations return: typed messages, subjects, the
 * payload guard, control dispatch and the registry view, over a CoordTransport
 * and a RegistryBackend (see transport.ts). An implementation only moves bytes.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { KvEventBatch } from "@sigmaserve/kvcache/events";
import { coordv1 } from "@sigmaserve/proto";
import type {
  ControlHandlers,
  ControlRequestOptions,
  CoordBus,
  KvEventDelivery,
  KvSnapshotPage,
  Subscription,
  WorkerEvent,
  WorkerFilter,
  WorkerRegistration,
  WorkerWatch,
} from "../coord-bus.js";
import { CoordArgumentError, CoordClosedError, KvDecodeError, MessageDecodeError } from "../errors.js";
import {
  checkWorkerId,
  controlSubject,
  KV_EVENTS_WILDCARD,
  kvEventsSubject,
  LOAD_WILDCARD,
  loadSubject,
  workerIdOfKvEventsSubject,
} from "../subjects.js";
import type { KvObjectStore, KvObjectStoreOptions } from "../kv-object-store.js";
import { BusWorkerRegistration, registryEntryLabel } from "./bus-worker-registration.js";
import { asError, decodeFrom, encodeGuarded } from "./codec.js";
import {
  bindControlHandlers,
  DRAIN_METHOD,
  MIGRATE_DONE_METHOD,
  MIGRATE_REQUEST_METHOD,
  MIGRATE_OFFER_METHOD,
  readControlReply,
  SNAPSHOT_METHOD,
  type ControlMethod,
} from "./control-methods.js";
import { readKvEventBatch } from "./kv-event-batch-reader.js";
import { decodeKvSnapshotPage, encodeKvEventBatch } from "./kv-event-codec.js";
import type { CoordTransport, RegistryBackend } from "./transport.js";
import type { LeaderElection, LeaderElectionOptions } from "../leader-election.js";
import { BusLeaderElection } from "./bus-leader-election.js";
import { getOrCreateClusterSecret } from "./cluster-secret.js";
import type { LeaseBackend } from "./lease-backend.js";
import { WorkerTable } from "./worker-table.js";

export interface LayeredCoordBusOptions {
  maxPayloadBytes: number;
  /** Opens (creating it if needed) a bucket of the KV remote tier. */
  openObjectStore: (options: KvObjectStoreOptions) => Promise<KvObjectStore>;
  /** Where leader leases live. */
  leases: LeaseBackend;
  /** Where cluster secrets live (the same compare-and-set entries, another bucket). */
  secrets: LeaseBackend;
  controlTimeoutMs: number;
  /** Background failures: undecodable messages, callbacks that threw, handler errors, re-listing retries. */
  onError: (err: Error) => void;
}

export class LayeredCoordBus implements CoordBus {
  readonly maxPayloadBytes: number;
  readonly #transport: CoordTransport;
  readonly #registry: RegistryBackend;
  readonly #controlTimeoutMs: number;
  readonly #onError: (err: Error) => void;
  readonly #openObjectStore: LayeredCoordBusOptions["openObjectStore"];
  readonly #leases: LeaseBackend;
  readonly #secrets: LeaseBackend;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(transport: CoordTransport, registry: RegistryBackend, options: LayeredCoordBusOptions) {
    this.#transport = transport;
    this.#registry = registry;
    this.maxPayloadBytes = options.maxPayloadBytes;
    this.#controlTimeoutMs = options.controlTimeoutMs;
    this.#openObjectStore = options.openObjectStore;
    this.#leases = options.leases;
    this.#secrets = options.secrets;
    this.#onError = (err) => {
      try {
        options.onError(err);
      } catch {
        // An error reporter that throws has nowhere left to report to.
      }
    };
  }

  async register(info: coordv1.WorkerInfo): Promise<WorkerRegistration> {
    this.#assertOpen();
    checkWorkerId(info.workerId, "info.workerId");
    const bytes = encodeGuarded(coordv1.WorkerInfoSchema, info, registryEntryLabel(info.workerId), this.#limitBytes());
    await this.#registry.put(info.workerId, bytes);
    const deps = {
      registry: this.#registry,
      transport: this.#transport,
      limitBytes: () => this.#limitBytes(),
      assertOpen: () => this.#assertOpen(),
    };
    return new BusWorkerRegistration(deps, info, bytes);
  }

  async publishKvEvents(batch: KvEventBatch): Promise<void> {
    this.#assertOpen();
    checkWorkerId(batch.workerId, "batch.workerId");
    const subject = kvEventsSubject(batch.workerId);
    const message = encodeKvEventBatch(batch, BigInt(Date.now()));
    this.#transport.publish(subject, encodeGuarded(coordv1.KvEventBatchSchema, message, subject, this.#limitBytes()));
  }

  async serveControl(workerId: string, handlers: ControlHandlers): Promise<Subscription> {
    this.#assertOpen();
    checkWorkerId(workerId);
    const verbs = bindControlHandlers(handlers, (verb) => controlSubject(workerId, verb), () => this.#limitBytes(), this.#onError);
    if (verbs.length === 0) throw new CoordArgumentError("handlers", "must hold at least one of snapshot, drain, migrateOffer, migrateDone, migrateRequest");
    const subs: Subscription[] = [];
    try {
      for (const { verb, respond } of verbs) subs.push(await this.#transport.serve(controlSubject(workerId, verb), respond));
    } catch (err) {
      await Promise.all(subs.map((sub) => sub.close()));
      throw err;
    }
    return this.#track({ close: async () => void (await Promise.all(subs.map((sub) => sub.close()))) });
  }

  async watchWorkers(onEvent: (event: WorkerEvent) => void): Promise<WorkerWatch> {
    this.#assertOpen();
    const table = new WorkerTable(onEvent, this.#onError);
    let sub: Subscription;
    try {
      sub = await this.#registry.watch(table);
    } catch (err) {
      table.close();
      throw err;
    }
    const tracked = this.#track({
      close: async () => {
        table.close();
        await sub.close();
      },
    });
    return { workers: () => table.workers(), close: () => tracked.close() };
  }

  async subscribeLoads(onLoad: (load: coordv1.WorkerLoad) => void, filter: WorkerFilter = {}): Promise<Subscription> {
    const subject = filter.workerId === undefined ? LOAD_WILDCARD : loadSubject(filter.workerId);
    return this.#subscribe(subject, coordv1.WorkerLoadSchema, onLoad);
  }

  async subscribeKvEvents(onDelivery: (delivery: KvEventDelivery) => void, filter: WorkerFilter = {}): Promise<Subscription> {
    this.#assertOpen();
    const subject = filter.workerId === undefined ? KV_EVENTS_WILDCARD : kvEventsSubject(filter.workerId);
    const sub = await this.#transport.subscribe(subject, (actualSubject, bytes) => {
      const workerId = workerIdOfKvEventsSubject(actualSubject);
      // NOTE: the wildcard matches one token and every id we publish under is checked, so this is a foreign publisher.
      if (workerId === undefined) return this.#onError(new MessageDecodeError(actualSubject, { cause: new Error("not a worker's KV-event subject") }));
      let delivery: KvEventDelivery;
      try {
        delivery = { kind: "batch", batch: readKvEventBatch(bytes, { subject: actualSubject, workerId }) };
      } catch (err) {
        const error =
          err instanceof KvDecodeError ? err : new KvDecodeError({ subject: actualSubject, workerId, epoch: undefined, field: "" }, "not a KvEventBatch message", { cause: err });
        delivery = { kind: "undecodable", workerId, error };
      }
      try {
        onDelivery(delivery);
      } catch (err) {
        this.#onError(asError(err));
      }
    });
    return this.#track(sub);
  }

  async requestSnapshot(workerId: string, request: coordv1.KvSnapshotRequest, options?: ControlRequestOptions): Promise<KvSnapshotPage> {
    const message = await this.#request(SNAPSHOT_METHOD, workerId, request, options);
    return decodeKvSnapshotPage(message, { subject: controlSubject(workerId, SNAPSHOT_METHOD.verb), workerId });
  }

  async requestDrain(workerId: string, command: coordv1.DrainCommand, options?: ControlRequestOptions): Promise<coordv1.DrainStatus> {
    return this.#request(DRAIN_METHOD, workerId, command, options);
  }

  async offerMigration(
    targetWorkerId: string,
    offer: coordv1.MigrationOffer,
    options?: ControlRequestOptions,
  ): Promise<coordv1.MigrationReply> {
    return this.#request(MIGRATE_OFFER_METHOD, targetWorkerId, offer, options);
  }

  async reportMigrationDone(sourceWorkerId: string, done: coordv1.MigrationDone, options?: ControlRequestOptions): Promise<void> {
    await this.#request(MIGRATE_DONE_METHOD, sourceWorkerId, done, options);
  }

  async openObjectStore(options: KvObjectStoreOptions): Promise<KvObjectStore> {
    if (this.#closed) throw new CoordClosedError("openObjectStore: the bus is closed");
    if (!/^[A-Za-z0-9_-]+$/.test(options.bucket)) throw new CoordArgumentError("bucket", `must be letters, digits, - and _, got ${JSON.stringify(options.bucket)}`);
    if (!(options.maxBytes > 0)) throw new CoordArgumentError("maxBytes", `must be > 0, got ${options.maxBytes}`);
    if (!(options.ttlMs > 0)) throw new CoordArgumentError("ttlMs", `must be > 0, got ${options.ttlMs}`);
    return this.#openObjectStore(options);
  }

  async campaign(options: LeaderElectionOptions): Promise<LeaderElection> {
    this.#assertOpen();
    const election = new BusLeaderElection(this.#leases, options, this.#onError);
    const tracked = this.#track({ close: () => election.close() });
    await election.start();
    return { isLeader: () => election.isLeader(), current: () => election.current(), close: () => tracked.close() };
  }

  async clusterSecret(name: string): Promise<Uint8Array> {
    this.#assertOpen();
    return getOrCreateClusterSecret(this.#secrets, name);
  }

  async requestMigration(sourceWorkerId: string, request: coordv1.MigrationRequest, options?: ControlRequestOptions): Promise<coordv1.MigrationResult> {
    return this.#request(MIGRATE_REQUEST_METHOD, sourceWorkerId, request, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subs = [...this.#subscriptions];
    this.#subscriptions.clear();
    await Promise.all(subs.map((sub) => sub.close().catch((err: unknown) => this.#onError(asError(err)))));
    await this.#registry.close();
    await this.#transport.close();
  }

  async #subscribe<Desc extends DescMessage>(
    subject: string,
    schema: Desc,
    deliver: (message: MessageShape<Desc>) => void,
  ): Promise<Subscription> {
    this.#assertOpen();
    const sub = await this.#transport.subscribe(subject, (actualSubject, bytes) => {
      try {
        deliver(decodeFrom(schema, bytes, actualSubject));
      } catch (err) {
        this.#onError(asError(err));
      }
    });
    return this.#track(sub);
  }

  async #request<Req extends DescMessage, Res extends DescMessage>(
    method: ControlMethod<Req, Res>,
    workerId: string,
    message: MessageShape<Req>,
    options: ControlRequestOptions = {},
  ): Promise<MessageShape<Res>> {
    this.#assertOpen();
    const subject = controlSubject(workerId, method.verb);
    const timeoutMs = options.timeoutMs ?? this.#controlTimeoutMs;
    if (!(timeoutMs > 0)) throw new CoordArgumentError("options.timeoutMs", `must be > 0, got ${timeoutMs}`);
    const bytes = encodeGuarded(method.request, message, subject, this.#limitBytes());
    const reply = await this.#transport.request(subject, bytes, timeoutMs, options.headers);
    return readControlReply(method, subject, reply);
  }

  /** Remembers `sub` so close() can end it; closing it forgets it. */
  #track(sub: Subscription): Subscription {
    let closing: Promise<void> | undefined;
    const tracked: Subscription = {
      close: () => {
        closing ??= (async () => {
          this.#subscriptions.delete(tracked);
          await sub.close();
        })();
        return closing;
      },
    };
    this.#subscriptions.add(tracked);
    return tracked;
  }

  #limitBytes(): number {
    return Math.min(this.maxPayloadBytes, this.#transport.serverMaxPayloadBytes() ?? Number.POSITIVE_INFINITY);
  }

  #assertOpen(): void {
    if (this.#closed) throw new CoordClosedError("the CoordBus is closed");
  }
}
