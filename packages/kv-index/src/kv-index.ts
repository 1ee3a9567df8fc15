/**
 * The router's view of which worker holds which block hashes, per component
 * and tier. Pure and synchronous: events in (through a `KvEventConsumer`,
 * which keeps each worker's epoch and seq cursor), residency held in a
 * `ResidencyTable`, prefix overlap out. No I/O and no timers: where a snapshot
 * is needed, a method returns a resync request for the caller to send over
 * the bus; where time matters (speculation), the caller passes `nowMs`.
 *
 * What each input does to a worker's state:
 * - an in-order batch: its new events are applied (stored / removed / moved
 *   per component and tier; `cleared` drops every real block of the worker and
 *   is authoritative); duplicates and stale epochs change nothing;
 * - a gap: state kept as it is (exact as of the last applied seq) and a
 *   resync requested; a new epoch: state dropped at once, resync requested;
 * - a snapshot: replaces the worker's real state;
 * - `removeWorker`: forgets the worker entirely (registry entry expired).
 * Speculative claims are a prediction about the future, not the past, so
 * `cleared`, a new epoch and a snapshot leave them alone; they end by a real
 * `stored` of the block's K (confirmation), by their TTL, or by `removeWorker`.
 */
import { type KvEventBatch, KvEventConsumer, type KvEventConsumerOptions, type KvEvent, type KvResyncDecision, type KvSnapshot, type KvSnapshotDecision } from "@sigmaserve/kvcache/events";
import { KvIndexArgumentError } from "./errors.js";
import type { KvIndexOverlapOptions, KvIndexResidencyGroup, KvIndexStats, KvResyncRequest, WorkerOverlap } from "./kv-index-types.js";
import { blockHashWordsOf } from "./block-hash-words.js";
import { PrefixOverlap } from "./overlap.js";
import { ResidencyTable, splitHash } from "./residency-table.js";
import { SpeculationQueue } from "./speculation-queue.js";

/** How long a routing-time claim lasts without a confirming `stored` event (llm-d uses 2 s). */
export const DEFAULT_SPECULATION_TTL_MS = 2_000;

export interface KvIndexOptions {
  /** Passed to the internal `KvEventConsumer` (tail-loss grace, retired epochs kept). */
  consumer?: KvEventConsumerOptions;
}

export class KvIndex {
  readonly #consumer: KvEventConsumer;
  readonly #table = new ResidencyTable();
  readonly #speculation = new SpeculationQueue();
  readonly #overlap = new PrefixOverlap();
  /** Scratch for the u32 halves of one event's hashes (see #applyEvent). */
  #words = new Uint32Array(512);
  #wordCount = 0;

  constructor(options: KvIndexOptions = {}) {
    this.#consumer = new KvEventConsumer(options.consumer);
  }

  /**
   * Applies what is new in a worker's batch. Returns null when in sync, or a
   * resync request (gap, new epoch, or one still pending). Throws the
   * consumer's `KvEventBatchError` for a malformed batch, before any change;
   * the lost events then show up as a gap on the next batch.
   */
  applyBatch(batch: KvEventBatch): KvResyncRequest | null {
    const decision = this.#consumer.accept(batch);
    if (decision.action === "resync") return this.#resync(batch.workerId, decision);
    if (decision.action === "apply") for (const event of decision.events) this.#applyEvent(batch.workerId, event);
    return null;
  }

  /** Replaces a worker's real state with a snapshot it sent, unless the snapshot is stale (then nothing changes). */
  applySnapshot(snapshot: KvSnapshot): KvSnapshotDecision {
    const decision = this.#consumer.applySnapshot(snapshot);
    if (decision.action !== "apply") return decision;
    this.#table.clearReal(snapshot.workerId);
    const worker = this.#table.worker(snapshot.workerId);
    for (const group of snapshot.residency) {
      const words = this.#wordsOf(group);
      for (let i = 0, n = this.#wordCount; i < n; i++) this.#table.store(worker, group.component, words[2 * i]!, words[2 * i + 1]!, group.tier);
    }
    return decision;
  }

  /** Checks a registry heartbeat (epoch, seq of the worker's last published event); may ask for a resync (restart or lost tail). */
  heartbeat(workerId: string, epoch: bigint, lastSeq: number): KvResyncRequest | null {
    const decision = this.#consumer.heartbeat(workerId, epoch, lastSeq);
    return decision.action === "resync" ? this.#resync(workerId, decision) : null;
  }

  /** Forgets a worker (its registry entry expired): blocks, claims and cursor. Returns whether it was known. */
  removeWorker(workerId: string): boolean {
    const hadCursor = this.#consumer.forget(workerId);
    const hadState = this.#table.dropWorker(workerId);
    if (hadState) this.#speculation.dropWorker(workerId);
    return hadCursor || hadState;
  }

  /**
   * Per worker, how many LEADING blocks of the request (hashes in chain
   * order) it holds, split into device and host hits; see overlap.ts for the
   * exact rule. Workers holding no leading block are absent from the map.
   */
  overlap(blockHashes: readonly bigint[], options: KvIndexOverlapOptions = {}): Map<string, WorkerOverlap> {
    if (options.nowMs !== undefined) checkTime("nowMs", options.nowMs);
    return this.#overlap.run(this.#table, blockHashes, options);
  }

  /**
   * Claims that `workerId` will soon hold `blockHashes` (the request was just
   * routed there), so that a burst of the same prefix sticks to it before its
   * `stored` events arrive. The claim counts as a device hit for overlaps with
   * `nowMs` < `nowMs + ttlMs` here, unless a real `stored` of the block's K
   * confirms it first. Also prunes claims expired by `nowMs`.
   */
  speculate(workerId: string, blockHashes: readonly bigint[], ttlMs: number, nowMs: number): void {
    if (typeof workerId !== "string" || workerId.length === 0) throw new KvIndexArgumentError("workerId", "must be a non-empty string");
    checkTime("ttlMs", ttlMs);
    if (ttlMs < 0) throw new KvIndexArgumentError("ttlMs", `must be ≥ 0, got ${ttlMs}`);
    checkTime("nowMs", nowMs);
    this.pruneSpeculation(nowMs);
    if (ttlMs === 0) return;
    const expiresAtMs = nowMs + ttlMs;
    const worker = this.#table.worker(workerId);
    const words = this.#wordsOf({ blockHashes });
    for (let i = 0; i < blockHashes.length; i++) {
      this.#table.speculate(worker, words[2 * i]!, words[2 * i + 1]!, expiresAtMs);
      this.#speculation.push({ workerId, hash: blockHashes[i]!, expiresAtMs });
    }
  }

  /** Drops claims expired by `nowMs` (memory only: expired claims never count anyway). Returns how many records were examined. */
  pruneSpeculation(nowMs: number): number {
    checkTime("nowMs", nowMs);
    const expired = this.#speculation.popExpired(nowMs);
    const words = this.#wordsOf({ blockHashes: [] });
    for (const record of expired) {
      splitHash(record.hash, words, 0);
      this.#table.expire(record.workerId, words[0]!, words[1]!, nowMs);
    }
    return expired.length;
  }

  /** A worker's real residency in snapshot form (canonical order); [] when unknown. For tests and debug endpoints. */
  residency(workerId: string): KvIndexResidencyGroup[] {
    return this.#table.groups(workerId);
  }

  /** Ids of the workers the index knows (by events, heartbeats or claims), sorted. */
  workerIds(): string[] {
    return [...new Set([...this.#consumer.workerIds(), ...this.#table.workerIds()])].sort(compareIds);
  }

  /** Blocks per worker per component and tier, claims, and sync state, for /v1/cluster. */
  stats(nowMs?: number): KvIndexStats {
    if (nowMs !== undefined) checkTime("nowMs", nowMs);
    const perWorker = this.workerIds().map((workerId) => ({
      workerId,
      blocks: this.#table.counts(workerId),
      speculativeBlocks: this.#table.speculativeCount(workerId, nowMs),
      sync: this.#consumer.cursor(workerId) ?? null,
    }));
    return { workers: perWorker.length, distinctBlockHashes: this.#table.distinctHashes, perWorker };
  }

  #resync(workerId: string, decision: KvResyncDecision): KvResyncRequest {
    if (decision.reason === "new-epoch") this.#table.clearReal(workerId);
    return { workerId, reason: decision.reason, expectedSeq: decision.expectedSeq };
  }

  #applyEvent(workerId: string, event: KvEvent): void {
    if (event.kind === "cleared") {
      this.#table.clearReal(workerId);
      return;
    }
    // A stored event registers the worker; removed and moved act only on what it holds.
    const worker = event.kind === "stored" ? this.#table.worker(workerId) : this.#table.workerIndexOf(workerId);
    if (worker < 0) return;
    const table = this.#table;
    const words = this.#wordsOf(event);
    const n = this.#wordCount;
    switch (event.kind) {
      case "stored":
        for (let i = 0; i < n; i++) table.store(worker, event.component, words[2 * i]!, words[2 * i + 1]!, event.tier);
        return;
      case "removed":
        for (let i = 0; i < n; i++) table.remove(worker, event.component, words[2 * i]!, words[2 * i + 1]!, event.tier);
        return;
      case "moved":
        for (let i = 0; i < n; i++) table.move(worker, event.component, words[2 * i]!, words[2 * i + 1]!, event.fromTier, event.toTier);
        return;
    }
  }

  /**
   * The u32 halves (lo, hi per hash) of `carrier.blockHashes`: the packed
   * words the bus decoder attached to it when it did (then the bigints are
   * never read), else the hashes split into a reused scratch array (valid
   * until the next call). Sets #wordCount to the number of hashes.
   */
  #wordsOf(carrier: { readonly blockHashes: readonly bigint[] }): Uint32Array {
    const packed = blockHashWordsOf(carrier);
    if (packed !== undefined) {
      this.#wordCount = packed.length >>> 1;
      return packed;
    }
    const hashes = carrier.blockHashes;
    if (2 * hashes.length > this.#words.length) this.#words = new Uint32Array(Math.max(2 * hashes.length, 2 * this.#words.length));
    for (let i = 0; i < hashes.length; i++) splitHash(hashes[i]!, this.#words, 2 * i);
    this.#wordCount = hashes.length;
    return this.#words;
  }
}

function checkTime(argument: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new KvIndexArgumentError(argument, `must be a finite number, got ${String(value)}`);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
