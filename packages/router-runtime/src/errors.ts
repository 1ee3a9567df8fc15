/** Typed errors of the router. Each maps to one gRPC status and one HTTP status (grpc/to-grpc-status.ts, http/to-http-error.ts). */
import { describeViolations, type FieldViolation } from "@sigmaserve/proto";

/**
 * Request fields that break rules: INVALID_ARGUMENT with a google.rpc.BadRequest
 * detail over gRPC, 400 with `param` over HTTP. Field paths are the public
 * `sigmaserve.v1.GenerateRequest`'s proto names (`sampling.temperature`,
 * `prompt.token_ids[3]`); the message reads "field: rule; ..." for people.
 * No violations (a worker refused without naming a field) means only a message.
 */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
  /** Every bad field found, in request order. */
  readonly violations: readonly FieldViolation[];

  constructor(violations: readonly FieldViolation[], options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? describeViolations(violations), options.cause === undefined ? undefined : { cause: options.cause });
    this.violations = violations;
  }

  /** One bad field. */
  static of(field: string, rule: string): InvalidRequestError {
    return new InvalidRequestError([{ field, description: rule }]);
  }
}

/** A missing or unknown API key: UNAUTHENTICATED / 401. */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
}

/** The queue is full: RESOURCE_EXHAUSTED / 429 with a retry-after hint. */
export class OverloadedError extends Error {
  override readonly name = "OverloadedError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Which of a tenant's limits refused a request (the `limit` label of sigmaserve_router_tenant_limited_total). */
export type TenantLimit = "in_flight" | "requests_per_s" | "tokens_per_s";

/**
 * A tenant over one of its own limits (admission/tenant-gate.ts): RESOURCE_EXHAUSTED
 * with the retry-after-ms trailer / 429 with Retry-After, like OverloadedError.
 * NOTE: not a subclass of OverloadedError on purpose: that one means the router is
 * full and counts as an admission rejection (an autoscaler signal); a tenant at its
 * own limit is not helped by more workers.
 */
export class TenantLimitError extends Error {
  override readonly name = "TenantLimitError";
  constructor(
    message: string,
    readonly tenant: string,
    readonly limit: TenantLimit,
    /** When a retry can pass, ms: when the bucket holds enough again, or DEFAULT_RETRY_AFTER_MS for the in-flight cap. */
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** No worker can take the request (none registered, all failed): UNAVAILABLE / 503. */
export class NoWorkerError extends Error {
  override readonly name = "NoWorkerError";
}

/**
 * A stream that failed after its first token and that failover could not
 * continue (replays exhausted, or no worker left to continue it). The client
 * has already received the tokens and then a finish with FINISH_REASON_ERROR
 * and the usage so far; over gRPC the call then ends with this error's status:
 * UNAVAILABLE when workers failed or went away (`kind` "unavailable"),
 * INTERNAL when the last worker failed with INTERNAL, UNKNOWN or DATA_LOSS (a
 * bug; `kind` "internal"). The OpenAI door never sees it: its stream ends with
 * finish_reason "error" as before.
 */
export class StreamFailedError extends Error {
  override readonly name = "StreamFailedError";
  constructor(
    message: string,
    readonly kind: "unavailable" | "internal",
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** An unknown model id: INVALID_ARGUMENT with a BadRequest on `model` over gRPC, 404 model_not_found over HTTP. */
export class UnknownModelError extends Error {
  override readonly name = "UnknownModelError";
  /** What is wrong with the `model` field, without the field's name (a BadRequest description). */
  readonly rule: string;
  constructor(model: string, known: readonly string[]) {
    const rule = `unknown model "${model}"; this cluster serves ${known.length === 0 ? "no model yet" : known.map((m) => `"${m}"`).join(", ")}`;
    super(`model: ${rule}`);
    this.rule = rule;
  }
}

/** A router setting that breaks a rule, found at start-up. */
export class RouterConfigError extends Error {
  override readonly name = "RouterConfigError";
}
