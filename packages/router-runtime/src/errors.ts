/** Typed errors of the router. Each maps to one gRPC status and one HTTP status (grpc/to-grpc-status.ts, http/to-http-error.ts). */

/** A request field that breaks a rule: INVALID_ARGUMENT / 400. The message starts with the field's name. */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super(`${field}: ${rule}`);
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

/** No worker can take the request (none registered, all failed): UNAVAILABLE / 503. */
export class NoWorkerError extends Error {
  override readonly name = "NoWorkerError";
}

/** An unknown model id: NOT_FOUND / 404. */
export class UnknownModelError extends Error {
  override readonly name = "UnknownModelError";
  constructor(model: string, known: readonly string[]) {
    super(`model: unknown model "${model}"; this cluster serves ${known.length === 0 ? "no model yet" : known.map((m) => `"${m}"`).join(", ")}`);
  }
}

/** A router setting that breaks a rule, found at start-up. */
export class RouterConfigError extends Error {
  override readonly name = "RouterConfigError";
}
