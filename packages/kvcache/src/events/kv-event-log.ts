/**
 * The producer side of KV events, owned by a worker's block pool. The log
 * numbers every event: seq = previous + 1, starting at 1 in each epoch, with
 * no holes and no merging (two events never share a seq, so a consumer can
 * tell a lost batch from a late one). The worker drains the log with
 * `takeBatch` and publishes each batch; the log keeps nothing it has handed
 * out (no replay buffer: a consumer that lost a batch asks for a snapshot).
 * The epoch is drawn at random per process start, so a restart is visible
 * to consumers as a new epoch.
 */
import { randomBytes } from "node:crypto";
import type { KvEvent, KvEventBatch, KvEventBody } from "./kv-event.js";
import { blockHashProblem, checkArgument, epochProblem, workerIdProblem } from "./validate.js";

/** Every event kind, for checking bodies built outside TypeScript's view (e.g. from JSON). */
const KV_EVENT_KINDS: readonly KvEvent["kind"][] = ["stored", "removed", "moved", "cleared"];

export interface KvEventLogOptions {
  /** Stable id of the worker, non-empty. */
  workerId: string;
  /** This process's epoch, a u64 ≠ 0; default: random (`randomKvEpoch`). */
  epoch?: bigint;
}

/** A uniformly random epoch in [1, 2^64) from the OS CSPRNG. */
export function randomKvEpoch(): bigint {
  for (;;) {
    const epoch = randomBytes(8).readBigUInt64BE(0);
    if (epoch !== 0n) return epoch; // NOTE: 0 is the proto's "unset", so it is redrawn (p = 2^-64).
  }
}

export class KvEventLog {
  readonly workerId: string;
  readonly epoch: bigint;
  #lastSeq = 0;
  /** Appended but not yet taken, oldest first; their seqs end at #lastSeq. */
  #pending: KvEvent[] = [];

  constructor(options: KvEventLogOptions) {
    const epoch = options.epoch ?? randomKvEpoch();
    checkArgument("workerId", workerIdProblem(options.workerId));
    checkArgument("epoch", epochProblem(epoch));
    this.workerId = options.workerId;
    this.epoch = epoch;
  }

  /** Seq of the last event appended (0 before the first). A snapshot taken now is exact as of this seq. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /**
   * Seq of the last event handed out by `takeBatch` (0 before the first).
   * NOTE: heartbeats must carry this, not `lastSeq`, and only after the batch
   * holding it was published; otherwise a consumer would see the unpublished
   * tail as lost and resync for nothing.
   */
  get lastTakenSeq(): number {
    return this.#lastSeq - this.#pending.length;
  }

  /** Events appended since the last take. */
  get numPendingEvents(): number {
    return this.#pending.length;
  }

  /** Gives the event the next seq and queues it for the next batch. Hash arrays are copied. */
  append(body: KvEventBody): KvEvent {
    checkArgument("body.kind", KV_EVENT_KINDS.includes(body.kind) ? null : `must be one of ${KV_EVENT_KINDS.join(", ")}, got ${String(body.kind)}`);
    if (body.kind !== "cleared") {
      body.blockHashes.forEach((hash, i) => checkArgument(`body.blockHashes[${i}]`, blockHashProblem(hash)));
    }
    if (body.kind === "stored" && body.parentBlockHash !== undefined) {
      checkArgument("body.parentBlockHash", blockHashProblem(body.parentBlockHash));
    }
    const seq = this.#lastSeq + 1;
    const event = (body.kind === "cleared" ? { ...body, seq } : { ...body, blockHashes: [...body.blockHashes], seq }) as KvEvent;
    this.#pending.push(event);
    this.#lastSeq = seq;
    return event;
  }

  /**
   * The oldest `maxEvents` (default: all) events not yet taken, as one batch,
   * or null when there are none. Events left over go in the next batch.
   */
  takeBatch(maxEvents?: number): KvEventBatch | null {
    if (maxEvents !== undefined && !(Number.isSafeInteger(maxEvents) && maxEvents > 0)) {
      checkArgument("maxEvents", `must be a positive integer, got ${String(maxEvents)}`);
    }
    if (this.#pending.length === 0) return null;
    const events = this.#pending.splice(0, maxEvents ?? this.#pending.length);
    const first = events[0] as KvEvent; // NOTE: non-empty: pending was non-empty and maxEvents ≥ 1.
    return { workerId: this.workerId, epoch: this.epoch, firstSeq: first.seq, events };
  }
}
