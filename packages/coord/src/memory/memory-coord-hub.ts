/**
 * The in-process stand-in for a nats-server: subjects with `*` / `>`
 * wildcards, request/reply, and a registry whose entries expire on a timer.
 * Buses made by connectMemoryCoordBus() on one hub see each other the way
 * connections to one server do.
 *
 * Semantics kept from NATS: delivery is asynchronous (a microtask later) and
 * in publish order; every subscriber gets its own copy of the bytes; a request
 * nobody serves fails at once with NoResponderError; a registry entry not put
 * again within `registryTtlMs` disappears. One difference, on purpose: the
 * hub reports expiry to watchers itself (a NATS 2.9 server expires silently
 * and the watcher times the TTL locally), so the scenario tests see the same
 * "left" either way.
 */
import type { Subscription } from "../coord-bus.js";
import type { ControlHeaders, ControlReply, RegistrySink } from "../core/transport.js";
import { DEFAULT_REGISTRY_TTL_MS } from "../defaults.js";
import { ControlTimeoutError, CoordArgumentError, NoResponderError } from "../errors.js";
import type { KvObjectStoreOptions } from "../kv-object-store.js";
import { MemoryKvObjectStore } from "./memory-kv-object-store.js";
import { MemoryLeaseBackend } from "./memory-lease-backend.js";

export interface MemoryCoordHubOptions {
  /** How long a registry entry lives without a put. Default: DEFAULT_REGISTRY_TTL_MS. */
  registryTtlMs?: number;
}

interface Subscriber {
  readonly tokens: readonly string[];
  deliver(subject: string, bytes: Uint8Array): void;
}

interface RegistryEntry {
  bytes: Uint8Array;
  expiry: NodeJS.Timeout;
}

type Responder = (bytes: Uint8Array, headers: ControlHeaders) => Promise<ControlReply>;

export class MemoryCoordHub {
  readonly registryTtlMs: number;
  readonly #subscribers = new Set<Subscriber>();
  readonly #responders = new Map<string, Responder[]>();
  readonly #entries = new Map<string, RegistryEntry>();
  readonly #watchers = new Set<RegistrySink>();
  readonly #objectStores = new Map<string, MemoryKvObjectStore>();
  /** Leader leases (leader-election.ts), shared by every bus on the hub. */
  readonly leases = new MemoryLeaseBackend();
  /** Cluster secrets (CoordBus.clusterSecret), shared by every bus on the hub. */
  readonly secrets = new MemoryLeaseBackend();

  constructor(options: MemoryCoordHubOptions = {}) {
    this.registryTtlMs = options.registryTtlMs ?? DEFAULT_REGISTRY_TTL_MS;
    if (!(this.registryTtlMs > 0)) throw new CoordArgumentError("registryTtlMs", `must be > 0, got ${this.registryTtlMs}`);
  }

  /** The hub's bucket of that name (created with these limits on first use), shared by every bus on the hub. */
  objectStore(options: KvObjectStoreOptions): MemoryKvObjectStore {
    let store = this.#objectStores.get(options.bucket);
    if (store === undefined) this.#objectStores.set(options.bucket, (store = new MemoryKvObjectStore(options)));
    return store;
  }

  publish(subject: string, bytes: Uint8Array): void {
    const tokens = subject.split(".");
    for (const sub of this.#subscribers) {
      if (!subjectMatches(sub.tokens, tokens)) continue;
      const copy = bytes.slice();
      queueMicrotask(() => sub.deliver(subject, copy));
    }
  }

  subscribe(subject: string, deliver: (subject: string, bytes: Uint8Array) => void): Subscription {
    let live = true;
    const sub: Subscriber = { tokens: subject.split("."), deliver: (s, b) => live && deliver(s, b) };
    this.#subscribers.add(sub);
    return {
      close: async () => {
        live = false;
        this.#subscribers.delete(sub);
      },
    };
  }

  serve(subject: string, respond: Responder): Subscription {
    const list = this.#responders.get(subject) ?? [];
    list.push(respond);
    this.#responders.set(subject, list);
    return {
      close: async () => {
        const current = this.#responders.get(subject) ?? [];
        const rest = current.filter((r) => r !== respond);
        if (rest.length > 0) this.#responders.set(subject, rest);
        else this.#responders.delete(subject);
      },
    };
  }

  async request(subject: string, bytes: Uint8Array, timeoutMs: number, headers: ControlHeaders = {}): Promise<ControlReply> {
    // Like NATS, the first responder to answer wins; there is only ever one in practice.
    const respond = this.#responders.get(subject)?.[0];
    if (respond === undefined) throw new NoResponderError(subject);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ControlTimeoutError(subject, timeoutMs)), timeoutMs);
    });
    try {
      const reply = await Promise.race([respond(bytes.slice(), { ...headers }), timeout]);
      return reply.ok ? { ok: true, bytes: reply.bytes.slice() } : reply;
    } finally {
      clearTimeout(timer);
    }
  }

  putEntry(workerId: string, bytes: Uint8Array): void {
    const known = this.#entries.get(workerId);
    if (known !== undefined) clearTimeout(known.expiry);
    const copy = bytes.slice();
    const expiry = setTimeout(() => this.#expire(workerId), this.registryTtlMs);
    expiry.unref();
    this.#entries.set(workerId, { bytes: copy, expiry });
    this.#notify((sink) => sink.put(workerId, copy.slice()));
  }

  deleteEntry(workerId: string): void {
    const known = this.#entries.get(workerId);
    if (known === undefined) return;
    clearTimeout(known.expiry);
    this.#entries.delete(workerId);
    this.#notify((sink) => sink.remove(workerId, "deregistered"));
  }

  /** Lists the current entries into `sink` at once, then feeds it every change. */
  watch(sink: RegistrySink): Subscription {
    const listing = new Map([...this.#entries].map(([workerId, entry]) => [workerId, entry.bytes.slice()]));
    sink.relist({ entries: listing, deleted: new Set(), localTtlMs: undefined });
    this.#watchers.add(sink);
    return {
      close: async () => {
        this.#watchers.delete(sink);
      },
    };
  }

  /** Drops every entry (without events) and every timer. */
  close(): void {
    for (const entry of this.#entries.values()) clearTimeout(entry.expiry);
    this.#entries.clear();
    this.#watchers.clear();
    this.#subscribers.clear();
    this.#responders.clear();
  }

  #expire(workerId: string): void {
    if (!this.#entries.delete(workerId)) return;
    this.#notify((sink) => sink.remove(workerId, "expired"));
  }

  #notify(change: (sink: RegistrySink) => void): void {
    for (const sink of this.#watchers) {
      queueMicrotask(() => {
        if (this.#watchers.has(sink)) change(sink);
      });
    }
  }
}

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
export function subjectMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i];
    if (token === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (token !== "*" && token !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}
