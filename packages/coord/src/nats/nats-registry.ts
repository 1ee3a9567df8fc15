/**
 * RegistryBackend on a JetStream KV bucket (REGISTRY_BUCKET): key = worker id,
 * value = WorkerInfo bytes, bucket-level TTL (the stream's max_age), history 1.
 *
 * Self-healing: whoever needs the bucket creates it if it is missing (the
 * create is idempotent for an identical config), and a put that finds no
 * stream behind the bucket (a server that restarted with an empty store)
 * forgets its handle, re-creates the bucket and puts again. So a worker's next
 * heartbeat after such a restart brings both the bucket and its entry back.
 */
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Subscription } from "../coord-bus.js";
import type { RegistryBackend, RegistrySink } from "../core/transport.js";
import { CoordClosedError, CoordUnavailableError } from "../errors.js";
import { REGISTRY_BUCKET } from "../subjects.js";
import type { ConnectionMonitor } from "./connection-monitor.js";
import { isMissingStream, mapConnectionError } from "./nats-errors.js";
import { NatsRegistryWatch } from "./nats-registry-watch.js";

export interface NatsRegistryOptions {
  registryTtlMs: number;
  jetStreamTimeoutMs: number;
  /** Retry delay of a watcher's failed re-listing. */
  retryMs: number;
  onError: (err: Error) => void;
}

export class NatsRegistry implements RegistryBackend {
  readonly #nc: NatsConnection;
  readonly #monitor: ConnectionMonitor;
  readonly #options: NatsRegistryOptions;
  readonly #js: JetStreamClient;
  readonly #watches = new Set<NatsRegistryWatch>();
  #kv: Promise<KV> | undefined;

  constructor(nc: NatsConnection, monitor: ConnectionMonitor, options: NatsRegistryOptions) {
    this.#nc = nc;
    this.#monitor = monitor;
    this.#options = options;
    this.#js = jetstream(nc, { timeout: options.jetStreamTimeoutMs });
  }

  async put(workerId: string, bytes: Uint8Array): Promise<void> {
    this.#assertUsable(workerId);
    try {
      await (await this.bucket()).put(workerId, bytes);
    } catch (err) {
      if (!isMissingStream(err)) throw mapConnectionError(err, `registry put ${workerId}`);
      this.#kv = undefined;
      try {
        await (await this.bucket()).put(workerId, bytes);
      } catch (retryErr) {
        throw mapConnectionError(retryErr, `registry put ${workerId} (bucket re-created)`);
      }
    }
  }

  async delete(workerId: string): Promise<void> {
    this.#assertUsable(workerId);
    try {
      await (await this.bucket()).delete(workerId);
    } catch (err) {
      // No stream, no entry: nothing left to delete.
      if (isMissingStream(err)) {
        this.#kv = undefined;
        return;
      }
      throw mapConnectionError(err, `registry delete ${workerId}`);
    }
  }

  async watch(sink: RegistrySink): Promise<Subscription> {
    this.#assertUsable("watch");
    const watch = new NatsRegistryWatch(this.#js, this.#monitor, sink, {
      bucket: () => this.bucket(),
      forgetBucket: () => (this.#kv = undefined),
      fallbackTtlMs: this.#options.registryTtlMs,
      retryMs: this.#options.retryMs,
      onError: this.#options.onError,
    });
    await watch.start();
    this.#watches.add(watch);
    return {
      close: async () => {
        this.#watches.delete(watch);
        watch.stop();
      },
    };
  }

  async close(): Promise<void> {
    for (const watch of this.#watches) watch.stop();
    this.#watches.clear();
  }

  /** The bucket, created (with this bus's TTL) if it does not exist. */
  bucket(): Promise<KV> {
    if (this.#kv !== undefined) return this.#kv;
    const created: Promise<KV> = new Kvm(this.#js)
      .create(REGISTRY_BUCKET, {
        ttl: this.#options.registryTtlMs,
        history: 1,
        description: "sigmaserve worker registry: key = worker id, value = WorkerInfo protobuf; entries expire without heartbeats",
      })
      .catch((err: unknown) => {
        if (this.#kv === created) this.#kv = undefined;
        throw mapConnectionError(err, `registry bucket ${REGISTRY_BUCKET}`);
      });
    this.#kv = created;
    return created;
  }

  /** Fails fast instead of letting a JetStream call sit in the client's buffer until it times out. */
  #assertUsable(what: string): void {
    if (this.#nc.isClosed()) throw new CoordClosedError(`registry ${what}: the connection is closed`);
    if (!this.#monitor.connected) throw new CoordUnavailableError(`registry ${what}: NATS is disconnected (reconnecting)`);
  }
}
