/** Typed errors of the worker. Each maps to one gRPC status in grpc/to-grpc-status.ts (see docs/errors.md). */

/**
 * A request field that breaks a rule: INVALID_ARGUMENT with a BadRequest
 * detail {field, description: rule}. The message is "field: rule".
 */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
  constructor(
    /** The field's path in the worker's request, e.g. `prompt_token_ids[3]`. */
    readonly field: string,
    /** The rule it broke and what was sent, without the field. */
    readonly rule: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${field}: ${rule}`, options);
  }
}

/** The worker is draining and admits nothing new: UNAVAILABLE, so the router retries elsewhere. */
export class DrainingError extends Error {
  override readonly name = "DrainingError";
  constructor(workerId: string) {
    super(`worker ${workerId} is draining and admits no new requests`);
  }
}

/** A request id that is already running here: ALREADY_EXISTS. */
export class DuplicateRequestError extends Error {
  override readonly name = "DuplicateRequestError";
  constructor(requestId: string) {
    super(`request_id: "${requestId}" is already running on this worker`);
  }
}

/** A worker setting that breaks a rule, found at start-up. The message names the flag or variable. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}
