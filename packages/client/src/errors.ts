/**
 * Typed errors of the SDK: one class per gRPC status a caller may want to
 * branch on, all under `SigmaserveError`.
 *
 * Every failure of a call reaches the caller as a `SigmaserveError`, mapped
 * once, in `toSigmaserveError`, from the adapter's `GrpcStatusError`. `code` is
 * the gRPC status name ("UNAVAILABLE"), `details` the server's message as sent
 * on the wire. Statuses without a class of their own (PERMISSION_DENIED,
 * FAILED_PRECONDITION, …) stay plain `SigmaserveError`s with their code.
 */
import { status } from "@grpc/grpc-js";
import { fieldViolationsOf, isGrpcStatusError, type FieldViolation } from "@sigmaserve/proto";
import type { FinishEvent } from "./events.js";

export type { FieldViolation };

/** A gRPC status name, e.g. "INVALID_ARGUMENT". */
export type StatusName = keyof typeof status;

/** Metadata key the router sets on RESOURCE_EXHAUSTED: how long to wait before trying again, in ms. */
export const RETRY_AFTER_METADATA_KEY = "retry-after-ms";

/** The base of every error a call fails with. */
export class SigmaserveError extends Error {
  override readonly name: string = "SigmaserveError";
  /** The gRPC status name, e.g. "UNAVAILABLE". */
  readonly code: StatusName;
  /** The status message as the server (or grpc-js) sent it. */
  readonly details: string;
  /**
   * For a Generate stream that failed after it began: the finish the server sent
   * just before the status (finish_reason "error", the usage so far, the
   * request id, `errorMessage`). Undefined for every other failure. Set by the SDK.
   */
  finish: FinishEvent | undefined = undefined;

  constructor(code: StatusName, details: string, options?: { cause?: unknown }) {
    super(`${code}: ${details}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
  }
}

/**
 * Request fields broke rules. `fieldViolations` are the server's
 * `google.rpc.BadRequest` details (the `grpc-status-details-bin` trailer):
 * every bad field by its path in the request's proto field names
 * (`sampling.top_p`, `token_ids.ids[3]`, `text`) with the rule it broke. The
 * message is for people; programs read the violations. Empty when the server
 * named no field.
 */
export class InvalidArgumentError extends SigmaserveError {
  override readonly name = "InvalidArgumentError";
  /** Every bad field the server (or the SDK, before sending) named, in request order. */
  readonly fieldViolations: readonly FieldViolation[];

  constructor(details: string, options?: { cause?: unknown; fieldViolations?: readonly FieldViolation[] }) {
    super("INVALID_ARGUMENT", details, options);
    this.fieldViolations = options?.fieldViolations ?? [];
  }

  /** The first bad field's path, e.g. "sampling.top_p"; undefined when none was named. */
  get field(): string | undefined {
    return this.fieldViolations[0]?.field;
  }
}

/** The API key is missing or wrong. */
export class UnauthenticatedError extends SigmaserveError {
  override readonly name = "UnauthenticatedError";
  constructor(details: string, options?: { cause?: unknown }) {
    super("UNAUTHENTICATED", details, options);
  }
}

/**
 * The router's admission queue is full (RESOURCE_EXHAUSTED). NOTE: the SDK
 * does not retry this on its own: waiting is the caller's policy. When the
 * router sent a `retry-after-ms` trailer, `retryAfterMs` holds its hint.
 */
export class RateLimitedError extends SigmaserveError {
  override readonly name = "RateLimitedError";
  /** How long the server asks the caller to wait before trying again, ms; undefined when it sent no hint. */
  readonly retryAfterMs: number | undefined;

  constructor(details: string, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super("RESOURCE_EXHAUSTED", details, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** No server could take the call (connection refused, draining, no ready worker). Retried before the first chunk. */
export class UnavailableError extends SigmaserveError {
  override readonly name = "UnavailableError";
  constructor(details: string, options?: { cause?: unknown }) {
    super("UNAVAILABLE", details, options);
  }
}

/** The call's deadline (`timeoutMs`) passed. */
export class DeadlineExceededError extends SigmaserveError {
  override readonly name = "DeadlineExceededError";
  constructor(details: string, options?: { cause?: unknown }) {
    super("DEADLINE_EXCEEDED", details, options);
  }
}

/** The call was cancelled: the caller's AbortSignal fired, or the server cancelled it. */
export class CancelledError extends SigmaserveError {
  override readonly name = "CancelledError";
  constructor(details: string, options?: { cause?: unknown }) {
    super("CANCELLED", details, options);
  }
}

/** The model (or another named thing) does not exist on this cluster. */
export class NotFoundError extends SigmaserveError {
  override readonly name = "NotFoundError";
  constructor(details: string, options?: { cause?: unknown }) {
    super("NOT_FOUND", details, options);
  }
}

/** The server failed (INTERNAL, UNKNOWN, DATA_LOSS), or it broke the stream's protocol. */
export class InternalError extends SigmaserveError {
  override readonly name = "InternalError";
  constructor(details: string, options?: { cause?: unknown; code?: "INTERNAL" | "UNKNOWN" | "DATA_LOSS" }) {
    super(options?.code ?? "INTERNAL", details, options);
  }
}

/** `createClient` was given an option that breaks a rule; `field` names it ("retry.maxAttempts"). */
export class ClientOptionsError extends Error {
  override readonly name = "ClientOptionsError";
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/** The `retry-after-ms` hint as a non-negative number of ms, or undefined when absent or malformed. */
function retryAfterMsOf(metadata: { get(key: string): unknown[] } | undefined): number | undefined {
  const value = metadata?.get(RETRY_AFTER_METADATA_KEY)[0];
  const ms = typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The one mapping from whatever a call failed with to a `SigmaserveError`.
 * A `SigmaserveError` passes through; a `GrpcStatusError` becomes the class of
 * its status; anything else (a grpc-js bug, a closed channel) is wrapped as
 * UNKNOWN with the original as `cause`.
 */
export function toSigmaserveError(err: unknown): SigmaserveError {
  if (err instanceof SigmaserveError) return err;
  if (!isGrpcStatusError(err)) {
    return new SigmaserveError("UNKNOWN", err instanceof Error ? err.message : String(err), { cause: err });
  }
  const options = { cause: err };
  const { details } = err;
  switch (err.code) {
    case status.INVALID_ARGUMENT:
      return new InvalidArgumentError(details, { ...options, fieldViolations: fieldViolationsOf(err) });
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(details, options);
    case status.RESOURCE_EXHAUSTED:
      return new RateLimitedError(details, { ...options, retryAfterMs: retryAfterMsOf(err.metadata) });
    case status.UNAVAILABLE:
      return new UnavailableError(details, options);
    case status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(details, options);
    case status.CANCELLED:
      return new CancelledError(details, options);
    case status.NOT_FOUND:
      return new NotFoundError(details, options);
    case status.INTERNAL:
    case status.UNKNOWN:
    case status.DATA_LOSS:
      return new InternalError(details, { ...options, code: status[err.code] as "INTERNAL" | "UNKNOWN" | "DATA_LOSS" });
    default:
      return new SigmaserveError((status[err.code] as StatusName | undefined) ?? "UNKNOWN", details, options);
  }
}
