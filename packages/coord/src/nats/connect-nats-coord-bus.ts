/**
 * connectNatsCoordBus(): the CoordBus of a cluster. One NATS connection per
 * bus (name it after the process: "worker-3", "router"), closed by close().
 * See nats-coord-bus-options.ts for what happens during an outage.
 */
import { connect } from "@nats-io/transport-node";
import type { CoordBus } from "../coord-bus.js";
import { LayeredCoordBus } from "../core/layered-coord-bus.js";
import { DEFAULT_CONTROL_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD_BYTES } from "../defaults.js";
import { CoordUnavailableError } from "../errors.js";
import { ConnectionMonitor } from "./connection-monitor.js";
import { resolveNatsCoordBusOptions, splitCredentials, toConnectionOptions, type NatsCoordBusOptions } from "./nats-coord-bus-options.js";
import { openNatsKvObjectStore } from "./nats-kv-object-store.js";
import { NatsLeaseBackend } from "./nats-lease-backend.js";
import { NatsRegistry } from "./nats-registry.js";
import { NatsTransport } from "./nats-transport.js";

/** Connects to NATS; rejects with CoordUnavailableError when no server answers (unless waitOnFirstConnect). */
export async function connectNatsCoordBus(options: NatsCoordBusOptions): Promise<CoordBus> {
  const resolved = resolveNatsCoordBusOptions(options, {
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    controlTimeoutMs: DEFAULT_CONTROL_TIMEOUT_MS,
  });
  let nc;
  try {
    nc = await connect(toConnectionOptions(resolved));
  } catch (cause) {
    // Named without the credentials a URL may carry: this message ends up in logs.
    throw new CoordUnavailableError(`cannot connect to NATS at ${splitCredentials(resolved.servers).servers.join(", ")}`, { cause });
  }
  const onError = (err: Error) => resolved.onError(err);
  const monitor = new ConnectionMonitor(nc);
  const transport = new NatsTransport(nc, monitor, onError);
  const registry = new NatsRegistry(nc, monitor, {
    registryTtlMs: resolved.registryTtlMs,
    jetStreamTimeoutMs: resolved.jetStreamTimeoutMs,
    retryMs: resolved.reconnectWaitMs,
    onError,
  });
  return new LayeredCoordBus(transport, registry, {
    maxPayloadBytes: resolved.maxPayloadBytes,
    openObjectStore: async (storeOptions) => {
      try {
        return await openNatsKvObjectStore(nc, storeOptions, resolved.jetStreamTimeoutMs);
      } catch (cause) {
        throw new CoordUnavailableError(`cannot open the KV object store ${storeOptions.bucket}: ${(cause as Error).message}`, { cause });
      }
    },
    leases: new NatsLeaseBackend(nc, resolved.jetStreamTimeoutMs),
    controlTimeoutMs: resolved.controlTimeoutMs,
    onError,
  });
}
