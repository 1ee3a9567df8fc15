/**
 * The two seams an implementation fills in; everything typed (protobuf,
 * subjects, the payload guard, control dispatch, the registry view) is built
 * once on top of them in LayeredCoordBus, so nats/ and memory/ cannot drift.
 *
 * - CoordTransport moves bytes: fire-and-forget publish, subscribe, and
 *   request/reply with typed failures (NoResponderError, ControlTimeoutError,
 *   CoordUnavailableError).
 * - RegistryBackend stores WorkerInfo bytes per worker id with a TTL and feeds
 *   a RegistrySink (the watcher's WorkerTable) with what it sees.
 */
import type { Subscription } from "../coord-bus.js";

/** Headers of a control request, single-line string values by name. */
export type ControlHeaders = Readonly<Record<string, string>>;

/** A control reply: the handler's encoded answer, or its error. */
export type ControlReply =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; errorName: string; message: string };

export interface CoordTransport {
  /** The server's own message limit, if it has one (NATS's max_payload); the bus guards with the smaller one. */
  serverMaxPayloadBytes(): number | undefined;
  /** Sends at most once. Throws CoordUnavailableError while disconnected, CoordClosedError once closed. */
  publish(subject: string, bytes: Uint8Array): void;
  /** Resolves once the subscription is live (a publish after that reaches it). */
  subscribe(subject: string, onMessage: (subject: string, bytes: Uint8Array) => void): Promise<Subscription>;
  /**
   * One request, one reply; rejects with NoResponderError, ControlTimeoutError or CoordUnavailableError.
   * `headers` travel beside the bytes (NATS message headers), e.g. the W3C trace context.
   */
  request(subject: string, bytes: Uint8Array, timeoutMs: number, headers?: ControlHeaders): Promise<ControlReply>;
  /** Answers every request on `subject` with `respond`, which sees the request's headers (empty when none came). */
  serve(subject: string, respond: (bytes: Uint8Array, headers: ControlHeaders) => Promise<ControlReply>): Promise<Subscription>;
  close(): Promise<void>;
}

/** A complete read of the registry. */
export interface RegistryListing {
  /** Live entries, by worker id. */
  readonly entries: ReadonlyMap<string, Uint8Array>;
  /** Ids whose newest record is a delete (or purge) marker: deregistered. */
  readonly deleted: ReadonlySet<string>;
  /**
   * Expire entries locally this long after their last put, for a backend that
   * does not report expiry itself (NATS 2.9 removes expired KV entries
   * silently); undefined when it does.
   */
  readonly localTtlMs: number | undefined;
}

/** What a registry watch reports; implemented by WorkerTable. */
export interface RegistrySink {
  /** An entry was written (new, refreshed by a heartbeat, or changed). */
  put(workerId: string, bytes: Uint8Array): void;
  /** An entry is gone, as the backend observed it. */
  remove(workerId: string, reason: "deregistered" | "expired"): void;
  /** The complete current state, after the first listing and after every re-listing. */
  relist(listing: RegistryListing): void;
  /** Contact with the backend is lost: stop local expiry until the next re-listing. */
  suspendExpiry(): void;
}

export interface RegistryBackend {
  /** Creates or replaces the entry and restarts its TTL. */
  put(workerId: string, bytes: Uint8Array): Promise<void>;
  delete(workerId: string): Promise<void>;
  /** Starts feeding `sink`; resolves once the first listing has been passed to sink.relist(). */
  watch(sink: RegistrySink): Promise<Subscription>;
  close(): Promise<void>;
}
