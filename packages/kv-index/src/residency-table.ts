/**
 * The index's storage: for every (worker, block hash) one slot saying where
 * that worker holds the block's K and its V (device, host, or not at all) and
 * until when a speculative claim on it lasts. Each slot is reachable two ways:
 * per worker (to drop, replace or count a worker's state) and per hash (so an
 * overlap walk touches only the workers holding the blocks it asks about).
 *
 * NOTE: one tier per (worker, component, hash), exactly as the pool keeps it
 * (a live block's half is in one slot of one tier): `stored` puts the half on
 * its tier, replacing any other; `removed` and `moved` act only when the half
 * is on the tier they name. This is also the meaning the kvcache event tests
 * give events, so a property test can compare the two.
 */
import type { KvBlockCounts, KvComponent, KvIndexResidencyGroup, KvTier } from "./kv-index-types.js";

export interface Slot {
  k: KvTier | null;
  v: KvTier | null;
  /** Expiry (ms, exclusive) of a speculative claim, or null. */
  specExpiresAtMs: number | null;
}

interface WorkerSlots {
  slots: Map<bigint, Slot>;
  counts: KvBlockCounts;
  /** Hashes whose slot carries a speculative claim. */
  speculative: Set<bigint>;
}

const GROUP_ORDER: readonly [KvComponent, KvTier][] = [
  ["k", "device"],
  ["k", "host"],
  ["v", "device"],
  ["v", "host"],
];

export function zeroCounts(): KvBlockCounts {
  return { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } };
}

export class ResidencyTable {
  readonly #workers = new Map<string, WorkerSlots>();
  readonly #byHash = new Map<bigint, Map<string, Slot>>();

  /** The slots of one hash, by worker; undefined when no worker holds it. */
  holders(hash: bigint): ReadonlyMap<string, Slot> | undefined {
    return this.#byHash.get(hash);
  }

  hasWorker(workerId: string): boolean {
    return this.#workers.has(workerId);
  }

  workerIds(): string[] {
    return [...this.#workers.keys()];
  }

  get distinctHashes(): number {
    return this.#byHash.size;
  }

  /** `stored`: the component of `hash` is now on `tier` (whatever it was before). K confirms a speculative claim. */
  store(workerId: string, component: KvComponent, hash: bigint, tier: KvTier): void {
    const worker = this.#worker(workerId);
    const slot = this.#slot(workerId, worker, hash);
    const before = slot[component];
    if (before !== null) worker.counts[component][before]--;
    slot[component] = tier;
    worker.counts[component][tier]++;
    if (component === "k") this.#dropSpec(worker, hash, slot);
  }

  /** `removed`: the component leaves `tier`; nothing happens if it is elsewhere. */
  remove(workerId: string, component: KvComponent, hash: bigint, tier: KvTier): void {
    const worker = this.#workers.get(workerId);
    const slot = worker?.slots.get(hash);
    if (worker === undefined || slot === undefined || slot[component] !== tier) return;
    slot[component] = null;
    worker.counts[component][tier]--;
    this.#deleteIfEmpty(workerId, worker, hash, slot);
  }

  /** `moved`: the component goes from `fromTier` to `toTier`; nothing happens if it is not on `fromTier`. */
  move(workerId: string, component: KvComponent, hash: bigint, fromTier: KvTier, toTier: KvTier): void {
    const worker = this.#workers.get(workerId);
    const slot = worker?.slots.get(hash);
    if (worker === undefined || slot === undefined || slot[component] !== fromTier) return;
    slot[component] = toTier;
    worker.counts[component][fromTier]--;
    worker.counts[component][toTier]++;
  }

  /** Forgets every real block of a worker (`cleared`, a new epoch, a snapshot); speculative claims stay. */
  clearReal(workerId: string): void {
    const worker = this.#workers.get(workerId);
    if (worker === undefined) return;
    for (const [hash, slot] of worker.slots) {
      slot.k = null;
      slot.v = null;
      this.#deleteIfEmpty(workerId, worker, hash, slot);
    }
    worker.counts = zeroCounts();
  }

  /** Claims `hash` for a worker until `expiresAtMs`, keeping the later expiry of an existing claim. */
  speculate(workerId: string, hash: bigint, expiresAtMs: number): void {
    const worker = this.#worker(workerId);
    const slot = this.#slot(workerId, worker, hash);
    slot.specExpiresAtMs = Math.max(slot.specExpiresAtMs ?? expiresAtMs, expiresAtMs);
    worker.speculative.add(hash);
  }

  /** Drops a speculative claim if it has expired by `nowMs`. */
  expire(workerId: string, hash: bigint, nowMs: number): void {
    const worker = this.#workers.get(workerId);
    const slot = worker?.slots.get(hash);
    if (worker === undefined || slot === undefined || slot.specExpiresAtMs === null || slot.specExpiresAtMs > nowMs) return;
    this.#dropSpec(worker, hash, slot);
    this.#deleteIfEmpty(workerId, worker, hash, slot);
  }

  /** Forgets everything about a worker. Returns whether it had any slot or counts. */
  dropWorker(workerId: string): boolean {
    const worker = this.#workers.get(workerId);
    if (worker === undefined) return false;
    for (const hash of worker.slots.keys()) this.#unlink(workerId, hash);
    this.#workers.delete(workerId);
    return true;
  }

  counts(workerId: string): KvBlockCounts {
    const counts = this.#workers.get(workerId)?.counts ?? zeroCounts();
    return { k: { ...counts.k }, v: { ...counts.v } };
  }

  /** Speculative claims of a worker, only those alive at `nowMs` when it is given. */
  speculativeCount(workerId: string, nowMs?: number): number {
    const worker = this.#workers.get(workerId);
    if (worker === undefined) return 0;
    if (nowMs === undefined) return worker.speculative.size;
    let alive = 0;
    for (const hash of worker.speculative) {
      const expiresAtMs = worker.slots.get(hash)?.specExpiresAtMs ?? null;
      if (expiresAtMs !== null && nowMs < expiresAtMs) alive++;
    }
    return alive;
  }

  /** A worker's real residency in snapshot form: groups k/device, k/host, v/device, v/host, empty ones left out, hashes ascending. */
  groups(workerId: string): KvIndexResidencyGroup[] {
    const worker = this.#workers.get(workerId);
    if (worker === undefined) return [];
    const groups: KvIndexResidencyGroup[] = [];
    for (const [component, tier] of GROUP_ORDER) {
      const blockHashes: bigint[] = [];
      for (const [hash, slot] of worker.slots) if (slot[component] === tier) blockHashes.push(hash);
      if (blockHashes.length > 0) groups.push({ component, tier, blockHashes: blockHashes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) });
    }
    return groups;
  }

  #worker(workerId: string): WorkerSlots {
    let worker = this.#workers.get(workerId);
    if (worker === undefined) {
      worker = { slots: new Map(), counts: zeroCounts(), speculative: new Set() };
      this.#workers.set(workerId, worker);
    }
    return worker;
  }

  #slot(workerId: string, worker: WorkerSlots, hash: bigint): Slot {
    let slot = worker.slots.get(hash);
    if (slot === undefined) {
      slot = { k: null, v: null, specExpiresAtMs: null };
      worker.slots.set(hash, slot);
      let holders = this.#byHash.get(hash);
      if (holders === undefined) {
        holders = new Map();
        this.#byHash.set(hash, holders);
      }
      holders.set(workerId, slot);
    }
    return slot;
  }

  #dropSpec(worker: WorkerSlots, hash: bigint, slot: Slot): void {
    slot.specExpiresAtMs = null;
    worker.speculative.delete(hash);
  }

  #deleteIfEmpty(workerId: string, worker: WorkerSlots, hash: bigint, slot: Slot): void {
    if (slot.k !== null || slot.v !== null || slot.specExpiresAtMs !== null) return;
    worker.slots.delete(hash);
    this.#unlink(workerId, hash);
  }

  #unlink(workerId: string, hash: bigint): void {
    const holders = this.#byHash.get(hash);
    holders?.delete(workerId);
    if (holders?.size === 0) this.#byHash.delete(hash);
  }
}
