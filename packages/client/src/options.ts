/**
 * `createClient` options: the schema, its named defaults, and the one parse
 * that validates them and freezes the result. A bad option throws
 * `ClientOptionsError` naming the field, at construction, never mid-call.
 */
import type { ChannelOptions } from "@grpc/grpc-js";
import { ClientOptionsError } from "./errors.js";

/** Attempts per call, the first one included. */
export const DEFAULT_MAX_ATTEMPTS = 4;
/** Upper bound of the wait before the first retry, ms (the wait is jittered below it). */
export const DEFAULT_INITIAL_BACKOFF_MS = 100;
/** Upper bound of any wait between attempts, ms. */
export const DEFAULT_MAX_BACKOFF_MS = 2_000;

/** Retries on UNAVAILABLE; see retry.ts for which calls and when. */
export interface RetryOptions {
  /** Attempts per call including the first; 1 turns retries off. Default 4. */
  maxAttempts: number;
  /** Cap of the first backoff, ms; each further one doubles. Default 100. */
  initialBackoffMs: number;
  /** Cap of every backoff, ms. Default 2000. */
  maxBackoffMs: number;
}

/** TLS settings. PEM contents (not file paths): the SDK reads no files. */
export interface TlsOptions {
  /** CA certificate(s) that sign the server's certificate; default the system roots. */
  ca?: Buffer | string;
  /** Client certificate chain for mTLS; requires `key`. */
  cert?: Buffer | string;
  /** Client private key for mTLS; requires `cert`. */
  key?: Buffer | string;
  /** Name to check the server's certificate against (and send as SNI/authority) instead of the address's host. */
  serverName?: string;
}

export interface ClientOptions {
  /** The router's gRPC address, `host:port`. */
  address: string;
  /** Sent on every call as `authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** `true`: TLS with the system roots; an object: custom CA and/or client certificate (mTLS). Default plaintext. */
  tls?: TlsOptions | boolean;
  /** Deadline of every call that passes no `timeoutMs`, ms. Default none. */
  defaultTimeoutMs?: number;
  /** Retry policy; unset fields take the defaults above. */
  retry?: Partial<RetryOptions>;
  /** Extra grpc-js channel options (keepalive, message size limits). */
  channelOptions?: ChannelOptions;
}

/** Options after validation, frozen. */
export interface ResolvedOptions {
  readonly address: string;
  readonly apiKey: string | undefined;
  readonly tls: Readonly<TlsOptions> | boolean;
  readonly defaultTimeoutMs: number | undefined;
  readonly retry: Readonly<RetryOptions>;
  readonly channelOptions: Readonly<ChannelOptions>;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 1) throw new ClientOptionsError(field, `must be an integer >= 1, got ${resolved}`);
  return resolved;
}

function nonNegativeMs(field: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved < 0) throw new ClientOptionsError(field, `must be a finite number >= 0, got ${resolved}`);
  return resolved;
}

function resolveTls(tls: ClientOptions["tls"]): Readonly<TlsOptions> | boolean {
  if (tls === undefined || typeof tls === "boolean") return tls ?? false;
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ClientOptionsError(tls.cert === undefined ? "tls.cert" : "tls.key", "tls.cert and tls.key must be given together (mTLS)");
  }
  if (tls.serverName !== undefined && tls.serverName === "") throw new ClientOptionsError("tls.serverName", "must not be empty");
  return Object.freeze({ ...tls });
}

/** Validates `options` once and returns them frozen, defaults filled in. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options.address !== "string" || options.address.trim() === "") {
    throw new ClientOptionsError("address", `must be a non-empty "host:port", got ${JSON.stringify(options.address)}`);
  }
  if (options.apiKey !== undefined && (options.apiKey === "" || /[\r\n]/.test(options.apiKey))) {
    throw new ClientOptionsError("apiKey", "must be a non-empty string without line breaks");
  }
  const defaultTimeoutMs = options.defaultTimeoutMs === undefined ? undefined : nonNegativeMs("defaultTimeoutMs", options.defaultTimeoutMs, 0);
  const initialBackoffMs = nonNegativeMs("retry.initialBackoffMs", options.retry?.initialBackoffMs, DEFAULT_INITIAL_BACKOFF_MS);
  const maxBackoffMs = nonNegativeMs("retry.maxBackoffMs", options.retry?.maxBackoffMs, DEFAULT_MAX_BACKOFF_MS);
  if (maxBackoffMs < initialBackoffMs) {
    throw new ClientOptionsError("retry.maxBackoffMs", `must be >= retry.initialBackoffMs (${initialBackoffMs}), got ${maxBackoffMs}`);
  }
  return Object.freeze({
    address: options.address,
    apiKey: options.apiKey,
    tls: resolveTls(options.tls),
    defaultTimeoutMs,
    retry: Object.freeze({
      maxAttempts: positiveInteger("retry.maxAttempts", options.retry?.maxAttempts, DEFAULT_MAX_ATTEMPTS),
      initialBackoffMs,
      maxBackoffMs,
    }),
    channelOptions: Object.freeze({ ...options.channelOptions }),
  });
}
