/**
 * Options of the NATS CoordBus, with named defaults, and the connect options
 * they turn into.
 *
 * Outage model: the connection never gives up (infinite reconnect, one try per
 * server every reconnectWaitMs plus jitter). While it is down, publishes,
 * heartbeats and control requests fail fast with CoordUnavailableError instead
 * of queueing (a KV-event batch dropped there shows up as a seq gap, which the
 * router repairs with a snapshot); subscriptions are re-sent by the client on
 * reconnect; registry watchers freeze their view (no local expiry) and re-list
 * the bucket once the connection is back.
 */
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { DEFAULT_REGISTRY_TTL_MS } from "../defaults.js";
import { CoordArgumentError } from "../errors.js";
import { loadNatsSecurity, type NatsSecurityOptions } from "./nats-security-options.js";

/** Wait between reconnect attempts to one server. */
export const DEFAULT_RECONNECT_WAIT_MS = 1_000;
/**
 * Client ping interval. With DEFAULT_MAX_PINGS_OUT unanswered pings the client
 * declares the connection stale, so a server that vanished without closing the
 * socket is noticed within about 20-30 s (nats.js's default would take 4 minutes).
 */
export const DEFAULT_PING_INTERVAL_MS = 10_000;
export const DEFAULT_MAX_PINGS_OUT = 2;
/** Timeout of one JetStream API call or KV write (the registry). */
export const DEFAULT_JETSTREAM_TIMEOUT_MS = 2_000;
/** Timeout of the first connection attempt to each server. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** The connection name a server shows in /connz when none is given. */
export const DEFAULT_CONNECTION_NAME = "sigmaserve-coord";

export interface NatsCoordBusOptions {
  /** One or more `nats://host:port` URLs (of one cluster). */
  servers: string | string[];
  /** Connection name shown by the server (e.g. "worker-3", "router"). Default: DEFAULT_CONNECTION_NAME. */
  name?: string;
  /**
   * TTL of the registry bucket when this bus is the one that creates it. An
   * existing bucket keeps its own TTL, and watchers time expiry by the bucket's.
   * Default: DEFAULT_REGISTRY_TTL_MS.
   */
  registryTtlMs?: number;
  /** Default: DEFAULT_MAX_PAYLOAD_BYTES (the server's max_payload applies too when smaller). */
  maxPayloadBytes?: number;
  /** Default: DEFAULT_CONTROL_TIMEOUT_MS. */
  controlTimeoutMs?: number;
  /** Default: DEFAULT_RECONNECT_WAIT_MS. Also the retry delay of a watcher's failed re-listing. */
  reconnectWaitMs?: number;
  /** Default: DEFAULT_PING_INTERVAL_MS. */
  pingIntervalMs?: number;
  /** Default: DEFAULT_JETSTREAM_TIMEOUT_MS. */
  jetStreamTimeoutMs?: number;
  /** Default: DEFAULT_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /**
   * Keep trying until the first connection succeeds (a worker started before
   * its NATS server). Default false: connectNatsCoordBus() rejects with
   * CoordUnavailableError when no server answers.
   */
  waitOnFirstConnect?: boolean;
  /** Background failures (see CoordBus). Default: ignored. */
  onError?: (err: Error) => void;
  /**
   * Credentials and TLS from files (nats-security-options.ts); read and checked
   * by connectNatsCoordBus() before it connects. Default: none (credentials may
   * still ride the URL, but not both).
   */
  security?: NatsSecurityOptions;
}

/** NatsCoordBusOptions with every default applied and every number checked. */
export type ResolvedNatsCoordBusOptions = Required<Omit<NatsCoordBusOptions, "servers">> & { servers: string[] };

export function resolveNatsCoordBusOptions(
  options: NatsCoordBusOptions,
  defaults: { maxPayloadBytes: number; controlTimeoutMs: number },
): ResolvedNatsCoordBusOptions {
  const servers = typeof options.servers === "string" ? [options.servers] : [...options.servers];
  if (servers.length === 0) throw new CoordArgumentError("servers", "must name at least one server");
  const resolved: ResolvedNatsCoordBusOptions = {
    servers,
    name: options.name ?? DEFAULT_CONNECTION_NAME,
    registryTtlMs: options.registryTtlMs ?? DEFAULT_REGISTRY_TTL_MS,
    maxPayloadBytes: options.maxPayloadBytes ?? defaults.maxPayloadBytes,
    controlTimeoutMs: options.controlTimeoutMs ?? defaults.controlTimeoutMs,
    reconnectWaitMs: options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    jetStreamTimeoutMs: options.jetStreamTimeoutMs ?? DEFAULT_JETSTREAM_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    onError: options.onError ?? (() => {}),
    security: options.security ?? {},
  };
  for (const field of [
    "registryTtlMs",
    "maxPayloadBytes",
    "controlTimeoutMs",
    "reconnectWaitMs",
    "pingIntervalMs",
    "jetStreamTimeoutMs",
    "connectTimeoutMs",
  ] as const) {
    const value = resolved[field];
    if (!Number.isFinite(value) || value <= 0) throw new CoordArgumentError(field, `must be a positive number, got ${value}`);
  }
  return resolved;
}

/** Throws NatsSecurityConfigError when the security options are incomplete or a file of theirs is unreadable. */
export function toConnectionOptions(options: ResolvedNatsCoordBusOptions): NodeConnectionOptions {
  const { servers, credentials } = splitCredentials(options.servers);
  const security = loadNatsSecurity(options.security, Object.keys(credentials).length > 0, options.onError);
  return {
    servers,
    ...credentials,
    ...security,
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectWaitMs,
    // NOTE: jitter spreads a fleet's reconnects after an outage; capped so tests with short waits stay short.
    reconnectJitter: Math.min(100, Math.ceil(options.reconnectWaitMs / 4)),
    pingInterval: options.pingIntervalMs,
    maxPingOut: DEFAULT_MAX_PINGS_OUT,
    timeout: options.connectTimeoutMs,
    waitOnFirstConnect: options.waitOnFirstConnect,
  };
}

/**
 * Credentials written in the server URLs (`nats://TOKEN@host:4222`,
 * `nats://user:password@host:4222`, percent-encoded), moved to the connection's
 * `token` or `user`/`pass`: nats.js 3 ignores them in a URL, so a server with
 * authorization would refuse the connection. The URLs go on without them.
 * Every URL that carries credentials must carry the same ones.
 */
export function splitCredentials(servers: readonly string[]): { servers: string[]; credentials: { token: string } | { user: string; pass: string } | Record<string, never> } {
  let found: { token: string } | { user: string; pass: string } | undefined;
  const stripped = servers.map((server, i) => {
    const at = server.lastIndexOf("@");
    if (at < 0) return server;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(server)?.[0] ?? "";
    const userinfo = server.slice(scheme.length, at);
    const [user, pass] = userinfo.includes(":") ? [userinfo.slice(0, userinfo.indexOf(":")), userinfo.slice(userinfo.indexOf(":") + 1)] : [userinfo, undefined];
    let credentials: { token: string } | { user: string; pass: string };
    try {
      credentials = pass === undefined ? { token: decodeURIComponent(user!) } : { user: decodeURIComponent(user!), pass: decodeURIComponent(pass) };
    } catch {
      throw new CoordArgumentError(`servers[${i}]`, "the credentials before @ are not valid percent-encoding");
    }
    if (found !== undefined && JSON.stringify(found) !== JSON.stringify(credentials)) throw new CoordArgumentError(`servers[${i}]`, "carries other credentials than an earlier server URL");
    found = credentials;
    return `${scheme}${server.slice(at + 1)}`;
  });
  return { servers: stripped, credentials: found ?? {} };
}
