/**
 * The consumer side of KV events (the router's index uses it), tracking per
 * worker the epoch and the seq applied so far. A batch continues the cursor
 * (apply its new events), repeats it (ignore), or jumps past it (a gap: ask
 * for a snapshot). A snapshot resets the cursor to its asOfSeq; events up to
 * it are skipped afterwards. The state at seq 0 of any epoch is empty, so a
 * worker first seen at seq 1 needs no snapshot.
 *
 * Epochs are random, so their order is learned, not read. The current epoch
 * is the last one heard of; the ones it replaced are retired. A batch or a
 * snapshot of an epoch never seen means the worker restarted (switch, and for
 * a batch, resync); of a retired epoch, that it is a late message from a dead
 * process (ignore). A heartbeat comes from the registry, which holds one live
 * value per worker, so it always wins, even over a retired epoch: this repairs
 * the rare switch to an unseen dead epoch taken for a restart.
 *
 * Tail loss: a lost last batch leaves no gap for a later batch to reveal, so
 * heartbeats carry the worker's last published seq. NOTE: a seq a heartbeat
 * announces counts as lost only if it is still unapplied
 * `tailLossGraceHeartbeats` heartbeats later (default 1), because the
 * heartbeat and the batch travel different paths and the heartbeat may win.
 */
import type { KvEventBatch, KvSnapshot } from "./kv-event.js";
import type { KvBatchDecision, KvHeartbeatDecision, KvResyncDecision, KvResyncReason, KvSnapshotDecision, KvWorkerCursor } from "./kv-event-decision.js";
import { KvEventBatchError } from "./errors.js";
import { assertSnapshotHeader, checkArgument, epochProblem, seqProblem, workerIdProblem } from "./validate.js";

/** Heartbeats an announced seq may stay unapplied before it counts as lost. */
export const DEFAULT_TAIL_LOSS_GRACE_HEARTBEATS = 1;
/** Past epochs remembered per worker to recognise late messages of dead processes. */
export const DEFAULT_MAX_RETIRED_EPOCHS = 8;

export interface KvEventConsumerOptions {
  /** Default `DEFAULT_TAIL_LOSS_GRACE_HEARTBEATS`; 0 = resync on the first heartbeat ahead of the cursor. */
  tailLossGraceHeartbeats?: number;
  /** Default `DEFAULT_MAX_RETIRED_EPOCHS`. */
  maxRetiredEpochs?: number;
}

interface WorkerState {
  epoch: bigint;
  appliedSeq: number;
  resyncPending: KvResyncReason | null;
  /** lastSeq of the most recent heartbeats, oldest first, at most the grace. */
  announced: number[];
  /** Epochs this worker had before, oldest first. */
  retired: bigint[];
}

export class KvEventConsumer {
  readonly #grace: number;
  readonly #maxRetired: number;
  readonly #workers = new Map<string, WorkerState>();

  constructor(options: KvEventConsumerOptions = {}) {
    this.#grace = options.tailLossGraceHeartbeats ?? DEFAULT_TAIL_LOSS_GRACE_HEARTBEATS;
    this.#maxRetired = options.maxRetiredEpochs ?? DEFAULT_MAX_RETIRED_EPOCHS;
    checkArgument("tailLossGraceHeartbeats", seqProblem(this.#grace));
    checkArgument("maxRetiredEpochs", seqProblem(this.#maxRetired));
  }

  /** Decides what to do with a received batch and advances the cursor. Throws `KvEventBatchError` for a malformed batch. */
  accept(batch: KvEventBatch): KvBatchDecision {
    assertBatch(batch);
    const lastSeq = batch.firstSeq + batch.events.length - 1;
    const worker = this.#workers.get(batch.workerId);
    if (worker === undefined) {
      const fresh = this.#track(batch.workerId, batch.epoch, 0, []);
      if (batch.firstSeq === 1) {
        fresh.appliedSeq = lastSeq;
        return { action: "apply", events: batch.events };
      }
      return this.#startResync(fresh, "gap");
    }
    if (worker.retired.includes(batch.epoch)) return { action: "ignore", reason: "stale-epoch" };
    if (batch.epoch !== worker.epoch) return this.#startResync(this.#switchEpoch(worker, batch.epoch), "new-epoch");
    if (worker.resyncPending !== null) return resyncOf(worker);
    if (lastSeq <= worker.appliedSeq) return { action: "ignore", reason: "duplicate" };
    if (batch.firstSeq > worker.appliedSeq + 1) return this.#startResync(worker, "gap");
    const events = batch.events.slice(worker.appliedSeq + 1 - batch.firstSeq);
    worker.appliedSeq = lastSeq;
    return { action: "apply", events };
  }

  /**
   * Takes a snapshot the caller fetched. On "apply" the caller replaces the
   * worker's state with it; later batches continue from asOfSeq + 1.
   */
  applySnapshot(snapshot: KvSnapshot): KvSnapshotDecision {
    assertSnapshotHeader(snapshot);
    let worker = this.#workers.get(snapshot.workerId);
    if (worker === undefined) worker = this.#track(snapshot.workerId, snapshot.epoch, snapshot.asOfSeq, []);
    else if (worker.retired.includes(snapshot.epoch)) return { action: "ignore", reason: "stale-epoch" };
    else if (snapshot.epoch !== worker.epoch) worker = this.#switchEpoch(worker, snapshot.epoch);
    else if (worker.resyncPending === null && snapshot.asOfSeq < worker.appliedSeq) return { action: "ignore", reason: "outdated" };
    // NOTE: a pending resync takes any snapshot of its epoch, even one older than appliedSeq: it is exact, the state is not.
    worker.appliedSeq = snapshot.asOfSeq;
    worker.resyncPending = null;
    worker.announced = [];
    return { action: "apply" };
  }

  /**
   * Checks a worker's heartbeat (its epoch and the seq of its last published
   * event) against the cursor: another epoch means a restart; a seq that stays
   * ahead of the cursor past the grace means the tail was lost.
   */
  heartbeat(workerId: string, epoch: bigint, lastSeq: number): KvHeartbeatDecision {
    checkArgument("workerId", workerIdProblem(workerId));
    checkArgument("epoch", epochProblem(epoch));
    checkArgument("lastSeq", seqProblem(lastSeq));
    let worker = this.#workers.get(workerId);
    if (worker === undefined) worker = this.#track(workerId, epoch, 0, []);
    else if (epoch !== worker.epoch) return this.#startResync(this.#switchEpoch(worker, epoch), "new-epoch");
    if (worker.resyncPending !== null) return resyncOf(worker);
    worker.announced.push(lastSeq);
    let lost = false;
    while (worker.announced.length > this.#grace) {
      const due = worker.announced.shift() ?? 0;
      if (due > worker.appliedSeq) lost = true;
    }
    return lost ? this.#startResync(worker, "gap") : { action: "ok" };
  }

  /** Drops everything about a worker (its registry entry expired). Returns whether it was known. */
  forget(workerId: string): boolean {
    return this.#workers.delete(workerId);
  }

  /** The cursor of a worker, or undefined when it is not tracked. */
  cursor(workerId: string): KvWorkerCursor | undefined {
    const worker = this.#workers.get(workerId);
    return worker === undefined ? undefined : { epoch: worker.epoch, appliedSeq: worker.appliedSeq, resyncPending: worker.resyncPending };
  }

  /** Ids of the tracked workers, in the order first seen. */
  workerIds(): string[] {
    return [...this.#workers.keys()];
  }

  #track(workerId: string, epoch: bigint, appliedSeq: number, retired: bigint[]): WorkerState {
    const worker: WorkerState = { epoch, appliedSeq, resyncPending: null, announced: [], retired };
    this.#workers.set(workerId, worker);
    return worker;
  }

  /** Retires the current epoch and makes `epoch` current at seq 0 (its empty start). */
  #switchEpoch(worker: WorkerState, epoch: bigint): WorkerState {
    const retired = [...worker.retired.filter((old) => old !== epoch), worker.epoch];
    worker.retired = retired.slice(Math.max(0, retired.length - this.#maxRetired));
    worker.epoch = epoch;
    worker.appliedSeq = 0;
    worker.resyncPending = null;
    worker.announced = [];
    return worker;
  }

  #startResync(worker: WorkerState, reason: KvResyncReason): KvResyncDecision {
    worker.resyncPending = reason;
    worker.announced = [];
    return resyncOf(worker);
  }
}

function resyncOf(worker: WorkerState): KvResyncDecision {
  return { action: "resync", reason: worker.resyncPending ?? "gap", expectedSeq: worker.appliedSeq + 1 };
}

/** A batch obeys the seq rules: a worker id, an epoch, at least one event, and events[i].seq = firstSeq + i from 1 on. */
function assertBatch(batch: KvEventBatch): void {
  const problem = batchProblem(batch);
  if (problem !== null) throw new KvEventBatchError(String(batch.workerId), problem);
}

function batchProblem(batch: KvEventBatch): string | null {
  const workerId = workerIdProblem(batch.workerId);
  if (workerId !== null) return `workerId ${workerId}`;
  const epoch = epochProblem(batch.epoch);
  if (epoch !== null) return `epoch ${epoch}`;
  if (!Number.isSafeInteger(batch.firstSeq) || batch.firstSeq < 1) return `firstSeq must be a positive safe integer, got ${String(batch.firstSeq)}`;
  if (batch.events.length === 0) return "a batch holds at least one event";
  for (let i = 0; i < batch.events.length; i++) {
    const seq = batch.events[i]?.seq;
    if (seq !== batch.firstSeq + i) return `events[${i}].seq is ${String(seq)}, expected ${batch.firstSeq + i}`;
  }
  return null;
}
