/**
 * A registry watch that survives outages: one WatchSession per connection
 * lifetime, and a fresh listing after every reconnect.
 *
 * Model: on disconnect the session is dropped and the sink's local expiry is
 * suspended (silence during an outage says nothing about a worker). On
 * reconnect a new session lists the bucket again and the sink reports the
 * difference (see WorkerTable): a worker deregistered meanwhile leaves at once,
 * one missing from the listing leaves one TTL later unless it heartbeats, so a
 * router never keeps a dead worker it missed the news about.
 * A listing that fails (JetStream not ready, bucket gone) is retried every
 * retryMs for as long as the connection stays up. Each (re)start bumps a
 * generation number; work from an older generation stops itself.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { RegistrySink } from "../core/transport.js";
import { CoordUnavailableError } from "../errors.js";
import { REGISTRY_BUCKET } from "../subjects.js";
import type { ConnectionMonitor } from "./connection-monitor.js";
import { isMissingStream, mapConnectionError } from "./nats-errors.js";
import { openWatchSession, type WatchSession } from "./registry-watch-session.js";

export interface NatsRegistryWatchDeps {
  /** The bucket handle (created if missing). */
  bucket(): Promise<KV>;
  /** Drops the cached handle, after the stream behind it was found missing. */
  forgetBucket(): void;
  /** Local expiry when the bucket reports no TTL of its own. */
  fallbackTtlMs: number;
  retryMs: number;
  onError: (err: Error) => void;
}

export class NatsRegistryWatch {
  readonly #js: JetStreamClient;
  readonly #monitor: ConnectionMonitor;
  readonly #sink: RegistrySink;
  readonly #deps: NatsRegistryWatchDeps;
  #session: WatchSession | undefined;
  #generation = 0;
  #stopped = false;
  #unlisten: (() => void) | undefined;

  constructor(js: JetStreamClient, monitor: ConnectionMonitor, sink: RegistrySink, deps: NatsRegistryWatchDeps) {
    this.#js = js;
    this.#monitor = monitor;
    this.#sink = sink;
    this.#deps = deps;
  }

  /** Resolves once the first listing reached the sink; rejects if it cannot be made now. */
  async start(): Promise<void> {
    this.#unlisten = this.#monitor.listen({
      onDisconnect: () => this.#onDisconnect(),
      onReconnect: () => void this.#relist(),
    });
    const generation = ++this.#generation;
    let session: WatchSession;
    try {
      session = await this.#open();
    } catch (err) {
      this.stop();
      throw mapConnectionError(err, `listing ${REGISTRY_BUCKET}`);
    }
    this.#adopt(session, generation);
  }

  stop(): void {
    this.#stopped = true;
    this.#generation++;
    this.#unlisten?.();
    this.#session?.stop();
    this.#session = undefined;
  }

  #onDisconnect(): void {
    this.#generation++;
    this.#sink.suspendExpiry();
    this.#session?.stop();
    this.#session = undefined;
  }

  /** Lists again, retrying until it works, the connection drops, or a newer generation starts. */
  async #relist(): Promise<void> {
    const generation = ++this.#generation;
    this.#session?.stop();
    this.#session = undefined;
    while (this.#current(generation)) {
      try {
        this.#adopt(await this.#open(), generation);
        return;
      } catch (err) {
        if (!this.#current(generation)) return;
        if (isMissingStream(err)) this.#deps.forgetBucket();
        this.#deps.onError(mapConnectionError(err, `re-listing ${REGISTRY_BUCKET} after a reconnect (retrying)`));
        await sleep(this.#deps.retryMs);
      }
    }
  }

  /** Makes `session` the live one, unless the world moved on while it opened. */
  #adopt(session: WatchSession, generation: number): void {
    if (!this.#current(generation)) {
      session.stop();
      return;
    }
    this.#session = session;
    void session.ended.then(async () => {
      // Ended on its own (stream or consumer deleted) while connected: list again.
      if (!this.#current(generation)) return;
      this.#deps.onError(new CoordUnavailableError(`the watch of ${REGISTRY_BUCKET} ended; re-listing`));
      await sleep(this.#deps.retryMs);
      if (this.#current(generation)) void this.#relist();
    });
  }

  async #open(): Promise<WatchSession> {
    const kv = await this.#deps.bucket();
    const ttlMs = (await kv.status()).ttl;
    return openWatchSession(this.#js, REGISTRY_BUCKET, this.#sink, ttlMs > 0 ? ttlMs : this.#deps.fallbackTtlMs);
  }

  #current(generation: number): boolean {
    return !this.#stopped && generation === this.#generation && this.#monitor.connected;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
