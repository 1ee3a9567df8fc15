/**
 * Speculative claims in the order they were made, so that expired ones can
 * be pruned without a scan. No timers: the caller's `nowMs` drives pruning.
 *
 * NOTE: the queue is FIFO, not a heap. With one TTL and a clock that does not
 * go back, insertion order is expiry order and pruning is exact. With mixed
 * TTLs a long-lived claim at the head delays the pruning of shorter ones
 * behind it; that costs memory only, never correctness, because overlap
 * checks each claim's own expiry when it reads it.
 */
export interface SpeculationRecord {
  workerId: string;
  hash: bigint;
  expiresAtMs: number;
}

export class SpeculationQueue {
  #records: SpeculationRecord[] = [];
  #head = 0;

  get size(): number {
    return this.#records.length - this.#head;
  }

  push(record: SpeculationRecord): void {
    this.#records.push(record);
  }

  /** Removes and returns the records at the head that expired by `nowMs` (expiresAtMs ≤ nowMs). */
  popExpired(nowMs: number): SpeculationRecord[] {
    const expired: SpeculationRecord[] = [];
    while (this.#head < this.#records.length) {
      const record = this.#records[this.#head]!;
      if (record.expiresAtMs > nowMs) break;
      expired.push(record);
      this.#head++;
    }
    // Compact once the consumed prefix dominates, keeping push/pop amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
    return expired;
  }

  /** Forgets a worker's records (it was removed). O(size). */
  dropWorker(workerId: string): void {
    this.#records = this.#records.slice(this.#head).filter((record) => record.workerId !== workerId);
    this.#head = 0;
  }
}
