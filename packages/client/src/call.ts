/**
 * One logical call as the caller sees it, across all of its attempts.
 *
 * The deadline is fixed when the call starts and covers every attempt and
 * every backoff between them: a retry gets what is left, not a fresh
 * `timeoutMs`. The caller's AbortSignal wins over whatever status the aborted
 * attempt reports, so an abort always surfaces as `CancelledError`.
 */
import type { CallOptions as GrpcCallOptions } from "@sigmaserve/proto";
import { CancelledError, DeadlineExceededError, toSigmaserveError, type SigmaserveError } from "./errors.js";

/** Metadata key of the caller's request id, for logs and traces on the router. */
export const REQUEST_ID_METADATA_KEY = "x-request-id";

/** Options of every call. */
export interface CallOptions {
  /** Aborting cancels the call (and tells the server); the call rejects with CancelledError. */
  signal?: AbortSignal;
  /** Deadline of the whole call, retries included, ms from now; DeadlineExceededError when it passes. */
  timeoutMs?: number;
  /** The caller's id for this call: sent as `x-request-id`, and as `client_request_id` by generate/complete. */
  requestId?: string;
}

/** What every attempt of one call shares. */
export interface CallScope {
  readonly signal: AbortSignal | undefined;
  /** Unix ms at which the call's deadline passes; Infinity when it has none. */
  readonly deadlineUnixMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Fixes the deadline and the metadata of a call that starts now. */
export function callScope(options: CallOptions | undefined, defaults: { apiKey: string | undefined; defaultTimeoutMs: number | undefined }): CallScope {
  const timeoutMs = options?.timeoutMs ?? defaults.defaultTimeoutMs;
  const metadata: Record<string, string> = {};
  if (defaults.apiKey !== undefined) metadata["authorization"] = `Bearer ${defaults.apiKey}`;
  if (options?.requestId !== undefined) metadata[REQUEST_ID_METADATA_KEY] = options.requestId;
  return {
    signal: options?.signal,
    deadlineUnixMs: timeoutMs === undefined ? Infinity : Date.now() + timeoutMs,
    metadata,
  };
}

/** The error for a call whose caller aborted it, carrying the signal's reason. */
export function abortedError(signal: AbortSignal): CancelledError {
  return new CancelledError("the call was cancelled by its AbortSignal", { cause: signal.reason });
}

/** Adapter options for the next attempt; throws when the call is already aborted or past its deadline. */
export function attemptOptions(scope: CallScope): GrpcCallOptions {
  if (scope.signal?.aborted === true) throw abortedError(scope.signal);
  const options: GrpcCallOptions = { metadata: { ...scope.metadata } };
  if (scope.signal !== undefined) options.signal = scope.signal;
  if (scope.deadlineUnixMs !== Infinity) {
    const remainingMs = scope.deadlineUnixMs - Date.now();
    if (remainingMs <= 0) throw new DeadlineExceededError("the call's deadline passed before the attempt could start");
    options.timeoutMs = remainingMs;
  }
  return options;
}

/** What an attempt failed with, as the caller should see it: an abort is always CancelledError. */
export function attemptFailure(err: unknown, scope: CallScope): SigmaserveError {
  if (scope.signal?.aborted === true && !(err instanceof CancelledError)) {
    return new CancelledError("the call was cancelled by its AbortSignal", { cause: err });
  }
  return toSigmaserveError(err);
}
