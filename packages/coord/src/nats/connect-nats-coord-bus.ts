/**
 * connectNatsCoordBus(): the CoordBus of a cluster. One NATS connection per
 * bus (name it after the process: "worker-3", "router"), closed by close().
 * See nats-coord-bus-options.ts for what happens during an outage.
 *
 * Start-up fails closed and says why in one line: bad security options
 * (NatsSecurityConfigError, naming the flag), a server that refuses the
 * credentials or cannot be reached (CoordUnavailableError), or one without
 * JetStream (JetStreamDisabledError). NOTE: JetStream is required, not
 * optional: the registry (how routers find workers), the leader leases and the
 * remote tier are all JetStream KV or object stores, and a bus without the
 * registry would leave a worker unreachable and a router with no workers,
 * silently. Better to refuse at start-up than to degrade into that.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { CoordBus } from "../coord-bus.js";
import { LayeredCoordBus } from "../core/layered-coord-bus.js";
import { DEFAULT_CONTROL_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD_BYTES } from "../defaults.js";
import { CoordUnavailableError, JetStreamDisabledError } from "../errors.js";
import { ConnectionMonitor } from "./connection-monitor.js";
import { resolveNatsCoordBusOptions, splitCredentials, toConnectionOptions, type NatsCoordBusOptions } from "./nats-coord-bus-options.js";
import { openNatsKvObjectStore } from "./nats-kv-object-store.js";
import { NatsLeaseBackend, SECRETS_KV } from "./nats-lease-backend.js";
import { NatsRegistry } from "./nats-registry.js";
import { NatsTransport } from "./nats-transport.js";

/** Connects to NATS; rejects with CoordUnavailableError when no server answers (unless waitOnFirstConnect). */
export async function connectNatsCoordBus(options: NatsCoordBusOptions): Promise<CoordBus> {
  const resolved = resolveNatsCoordBusOptions(options, {
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    controlTimeoutMs: DEFAULT_CONTROL_TIMEOUT_MS,
  });
  // Throws NatsSecurityConfigError before anything connects.
  const connectionOptions = toConnectionOptions(resolved);
  // Named without the credentials a URL may carry: these messages end up in logs.
  const where = splitCredentials(resolved.servers).servers.join(", ");
  let nc;
  try {
    nc = await connect(connectionOptions);
  } catch (cause) {
    throw new CoordUnavailableError(`cannot connect to NATS at ${where}${refusalReason(cause)}`, { cause });
  }
  try {
    await checkJetStream(nc, where, resolved.jetStreamTimeoutMs);
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
  const onError = (err: Error) => resolved.onError(err);
  void reportServerErrors(nc, onError);
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
    secrets: new NatsLeaseBackend(nc, resolved.jetStreamTimeoutMs, SECRETS_KV),
    controlTimeoutMs: resolved.controlTimeoutMs,
    onError,
  });
}

/** ": the server refused the credentials (...)" for an authentication failure; "" otherwise (the cause has the rest). */
function refusalReason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return /authorization|authentication/i.test(message) ? `: the server refused the credentials (${message})` : "";
}

/** One JetStream API call ($JS.API.INFO): JetStreamDisabledError when nothing answers it. */
async function checkJetStream(nc: NatsConnection, where: string, timeoutMs: number): Promise<void> {
  try {
    await jetstreamManager(nc, { timeout: timeoutMs });
  } catch (cause) {
    const chain: unknown[] = [];
    for (let e: unknown = cause; e instanceof Error && chain.length < 8; e = e.cause) chain.push(e);
    if (chain.some((e) => (e as Error).name === "JetStreamNotEnabled")) {
      throw new JetStreamDisabledError(`nats-server at ${where} has JetStream disabled; start it with -js / jetstream {} in its config`, { cause });
    }
    throw new CoordUnavailableError(`cannot reach JetStream at ${where}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Errors the server sends without closing the connection reach onError: above
 * all a permission violation (`-ERR 'Permissions Violation for Publish to
 * "sigmaserve.kv.w0"'`), which for a plain publish is the only trace that the
 * message was dropped. NOTE: requests (KV puts, control) already fail with it.
 */
async function reportServerErrors(nc: NatsConnection, onError: (err: Error) => void): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === "error") onError(status.error);
  }
}
