/**
 * Typed errors of the event log, snapshots and consumer. A caller's own bad
 * value (a local bug) is a `KvEventArgumentError`; a malformed message from
 * another process is a `KvEventBatchError` or a `KvSnapshotError`, which a
 * consumer logs and answers by asking for a snapshot rather than crashing.
 */

/** A value this process passed that breaks a rule (empty worker id, epoch 0, a hash outside u64, …). */
export class KvEventArgumentError extends Error {
  override readonly name = "KvEventArgumentError";
  /** The argument at fault, e.g. `"epoch"`, `"maxEvents"`, `"body.blockHashes[2]"`. */
  readonly argument: string;

  constructor(argument: string, rule: string, options?: { cause?: unknown }) {
    super(`${argument}: ${rule}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.argument = argument;
  }
}

/** A received batch breaks the seq rules (no events, firstSeq < 1, events[i].seq ≠ firstSeq + i, …). */
export class KvEventBatchError extends Error {
  override readonly name = "KvEventBatchError";
  /** The worker the batch claims to come from, as received. */
  readonly workerId: string;

  constructor(workerId: string, problem: string, options?: { cause?: unknown }) {
    super(`KV event batch from "${workerId}": ${problem}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.workerId = workerId;
  }
}

/** A received snapshot, or a set of snapshot pages, that cannot be used. */
export class KvSnapshotError extends Error {
  override readonly name = "KvSnapshotError";

  constructor(problem: string, options?: { cause?: unknown }) {
    super(`KV snapshot: ${problem}`, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
