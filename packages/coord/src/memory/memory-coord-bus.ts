/**
 * The in-memory CoordBus, for `sigmaserve up` without NATS and for tests.
 * Each bus is one "connection" to a MemoryCoordHub: closing it ends its own
 * subscriptions and leaves the hub (and every registry entry) as it is, the
 * way closing a NATS connection leaves the server.
 */
import type { CoordBus, Subscription } from "../coord-bus.js";
import { LayeredCoordBus } from "../core/layered-coord-bus.js";
import type { ControlHeaders, ControlReply, CoordTransport, RegistryBackend, RegistrySink } from "../core/transport.js";
import { DEFAULT_CONTROL_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD_BYTES } from "../defaults.js";
import { CoordArgumentError, CoordClosedError } from "../errors.js";
import { MemoryCoordHub, type MemoryCoordHubOptions } from "./memory-coord-hub.js";

export interface MemoryCoordBusOptions extends MemoryCoordHubOptions {
  /** The hub to join. Default: a private hub, closed with the bus (registryTtlMs applies to it only). */
  hub?: MemoryCoordHub;
  /** Default: DEFAULT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** Default: DEFAULT_CONTROL_TIMEOUT_MS. */
  controlTimeoutMs?: number;
  /** Background failures (see CoordBus). Default: ignored. */
  onError?: (err: Error) => void;
}

/** A bus on `options.hub`, or on a hub of its own. */
export function createMemoryCoordBus(options: MemoryCoordBusOptions = {}): CoordBus {
  const ownHub = options.hub === undefined;
  const hub = options.hub ?? new MemoryCoordHub(options);
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!(maxPayloadBytes > 0)) throw new CoordArgumentError("maxPayloadBytes", `must be > 0, got ${maxPayloadBytes}`);
  const transport = new MemoryTransport(hub, ownHub);
  return new LayeredCoordBus(transport, new MemoryRegistry(hub), {
    maxPayloadBytes,
    openObjectStore: async (storeOptions) => hub.objectStore(storeOptions),
    leases: hub.leases,
    secrets: hub.secrets,
    controlTimeoutMs: options.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
    onError: options.onError ?? (() => {}),
  });
}

class MemoryTransport implements CoordTransport {
  readonly #hub: MemoryCoordHub;
  readonly #ownHub: boolean;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(hub: MemoryCoordHub, ownHub: boolean) {
    this.#hub = hub;
    this.#ownHub = ownHub;
  }

  serverMaxPayloadBytes(): number | undefined {
    return undefined;
  }

  publish(subject: string, bytes: Uint8Array): void {
    this.#assertOpen();
    this.#hub.publish(subject, bytes);
  }

  async subscribe(subject: string, onMessage: (subject: string, bytes: Uint8Array) => void): Promise<Subscription> {
    this.#assertOpen();
    return this.#keep(this.#hub.subscribe(subject, onMessage));
  }

  async request(subject: string, bytes: Uint8Array, timeoutMs: number, headers?: ControlHeaders): Promise<ControlReply> {
    this.#assertOpen();
    return this.#hub.request(subject, bytes, timeoutMs, headers);
  }

  async serve(subject: string, respond: (bytes: Uint8Array, headers: ControlHeaders) => Promise<ControlReply>): Promise<Subscription> {
    this.#assertOpen();
    return this.#keep(this.#hub.serve(subject, respond));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((sub) => sub.close()));
    this.#subscriptions.clear();
    if (this.#ownHub) this.#hub.close();
  }

  #keep(sub: Subscription): Subscription {
    this.#subscriptions.add(sub);
    return {
      close: async () => {
        this.#subscriptions.delete(sub);
        await sub.close();
      },
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new CoordClosedError("the memory transport is closed");
  }
}

class MemoryRegistry implements RegistryBackend {
  readonly #hub: MemoryCoordHub;

  constructor(hub: MemoryCoordHub) {
    this.#hub = hub;
  }

  async put(workerId: string, bytes: Uint8Array): Promise<void> {
    this.#hub.putEntry(workerId, bytes);
  }

  async delete(workerId: string): Promise<void> {
    this.#hub.deleteEntry(workerId);
  }

  async watch(sink: RegistrySink): Promise<Subscription> {
    return this.#hub.watch(sink);
  }

  async close(): Promise<void> {}
}
