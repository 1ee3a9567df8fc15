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

/**
 * A request left this worker unfinished, handed over to another (a drain
 * with migration): UNAVAILABLE, so the router continues it elsewhere by
 * replaying the tokens sent so far, with trailer `sigmaserve-handover-to`
 * naming the worker that received its KV (absent when the migration failed).
 */
export class HandedOverError extends Error {
  override readonly name = "HandedOverError";
  constructor(
    readonly requestId: string,
    readonly targetWorkerId: string | null,
  ) {
    super(`request ${requestId} was handed over ${targetWorkerId === null ? "(its KV did not move: replay it anywhere)" : `to worker ${targetWorkerId}, which holds its KV`}`);
  }
}

/** A request id that is already running here: ALREADY_EXISTS. */
export class DuplicateRequestError extends Error {
  override readonly name = "DuplicateRequestError";
  constructor(requestId: string) {
    super(`request_id: "${requestId}" is already running on this worker`);
  }
}

/** Why an export for a migration cannot be served (source side). */
export type MigrationLeaseProblem =
  /** No offer of that id was made here (or this worker restarted since: a new epoch voids its offers). */
  | "unknown"
  /** The offer's lease ran out (or its pull finished) before this export. */
  | "expired"
  /** The export asks for a block the offer did not name. */
  | "not-offered"
  /** The caller expected another epoch of this worker (worker.proto's expected_epoch): it restarted since. */
  | "stale-epoch";

/**
 * ExportKv for a migration that this worker cannot serve: NOT_FOUND for an
 * unknown migration id, FAILED_PRECONDITION for an expired lease or a block
 * outside the offer. The message names the migration and the problem.
 */
export class MigrationLeaseError extends Error {
  override readonly name = "MigrationLeaseError";
  constructor(
    readonly migrationId: string,
    readonly problem: MigrationLeaseProblem,
    detail: string,
  ) {
    super(`migration_id: "${migrationId}" ${detail}`);
  }
}

/** A worker setting that breaks a rule, found at start-up. The message names the flag or variable. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

/** Why a snapshot page token cannot be served. */
export type SnapshotPageTokenProblem =
  /** Its session saw no request for the session TTL. */
  | "expired"
  /** Its session was the least recently used when the cap of open sessions was reached. */
  | "evicted"
  /** Its session already served its last page. */
  | "finished"
  /** No session or page of that name. */
  | "unknown"
  /** Not a token this worker hands out ("<session>:<page>"). */
  | "malformed";

/**
 * A snapshot request carried a page token that serves nothing. It reaches the
 * requester over the bus as a ControlHandlerError naming this class; the
 * answer is to start again with an empty page token. Never reaches gRPC.
 */
export class SnapshotPageTokenError extends Error {
  override readonly name = "SnapshotPageTokenError";
  constructor(
    readonly token: string,
    readonly problem: SnapshotPageTokenProblem,
    ttlMs?: number,
  ) {
    super(`snapshot page token ${JSON.stringify(token)} ${describe(problem, ttlMs)}; ask again with an empty page token`);
  }
}

function describe(problem: SnapshotPageTokenProblem, ttlMs: number | undefined): string {
  switch (problem) {
    case "expired":
      return `expired: a paging session ends ${ttlMs} ms after its last page was served`;
    case "evicted":
      return "expired: its paging session was ended to make room for newer ones";
    case "finished":
      return "expired: its paging session already served its last page";
    case "unknown":
      return "names no open paging session or page";
    case "malformed":
      return 'is malformed (expected "<session>:<page>")';
  }
}
