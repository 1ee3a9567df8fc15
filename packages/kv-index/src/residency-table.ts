/**
 * The index's storage: for every (worker, block hash) one entry saying where
 * that worker holds the block's K and its V (device, host, or not at all)
 * and whether a speculative claim on it lasts. Each entry is reachable two
 * ways: per hash (so an overlap walk touches only the workers holding the
 * blocks it asks about) and per worker (so dropping, replacing or listing a
 * worker's state costs O(its entries), not a scan of the whole table).
 *
 * Layout, all typed arrays (no BigInt, string or object per entry):
 * - hashes: a U64KeyTable, block hash (lo, hi u32 halves) → dense hash id;
 * - per hash id, its holder list (HolderLists): per holder one element of
 *   (worker index << 8 | state, position of the hash id in the worker's list);
 * - per worker index (u16, recycled after dropWorker), the list of its hash
 *   ids, and its four block counts.
 * A hash held by one worker (most of them) costs a 16 B record (key and
 * its holder inline) + 11–21 B of table slot + 4 B in the worker's list; each
 * further holder 8 B in a slab + 4 B in its worker's list; all before the
 * slack of doubling.
 *
 * State byte: bits 0–1 K's tier, bits 2–3 V's tier (0 absent, 1 device,
 * 2 host), bit 4 a speculative claim, whose expiry (ms) lives in a Map keyed
 * by (hash id, worker): claims are few and short-lived.
 *
 * NOTE: one tier per (worker, component, hash), exactly as the pool keeps it
 * (a live block's half is in one slot of one tier): `stored` puts the half on
 * its tier, replacing any other; `removed` and `moved` act only when the half
 * is on the tier they name. This is also the meaning the kvcache event tests
 * give events, so a property test can compare the two.
 */
import { KvIndexArgumentError } from "./errors.js";
import { HolderLists } from "./holder-lists.js";
import type { KvBlockCounts, KvComponent, KvIndexResidencyGroup, KvTier } from "./kv-index-types.js";
import { U64KeyTable, grown } from "./u64-key-table.js";

export const TIER_NONE = 0;
export const TIER_DEVICE = 1;
export const TIER_HOST = 2;
export const SPECULATIVE = 0x10;
/** The state bits of a head word; an entry whose state is 0 is deleted. */
const STATE_BITS = 0x1f;
/** Shift of a component's tier bits in the state byte. */
export const K_SHIFT = 0;
export const V_SHIFT = 2;
/** Workers are u16 indices in the holder elements. */
const MAX_WORKERS = 0x10000;

const tierCode = (tier: KvTier): number => (tier === "device" ? TIER_DEVICE : TIER_HOST);
const shiftOf = (component: KvComponent): number => (component === "k" ? K_SHIFT : V_SHIFT);
/** Index into a worker's four counts: k/device, k/host, v/device, v/host. */
const countSlot = (shift: number, code: number): number => shift + code - 1;

const GROUP_ORDER: readonly [KvComponent, KvTier][] = [
  ["k", "device"],
  ["k", "host"],
  ["v", "device"],
  ["v", "host"],
];

/** Scratch to split a bigint hash into its u32 halves (and join them back) without BigInt arithmetic. */
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);

/** Writes the halves of `hash` (taken mod 2^64) to `out[at]` (lo) and `out[at + 1]` (hi). */
export function splitHash(hash: bigint, out: Uint32Array, at: number): void {
  scratch64[0] = hash;
  out[at] = scratch32[0]!;
  out[at + 1] = scratch32[1]!;
}

export function joinHash(lo: number, hi: number): bigint {
  scratch32[0] = lo;
  scratch32[1] = hi;
  return scratch64[0]!;
}

function bump(counts: Float64Array, at: number, by: number): void {
  counts[at] = counts[at]! + by;
}

export function zeroCounts(): KvBlockCounts {
  return { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } };
}

export class ResidencyTable {
  readonly hashes = new U64KeyTable();
  readonly holders = new HolderLists(this.hashes);
  readonly #workerIndex = new Map<string, number>();
  /** Worker id by index; undefined for a free index. */
  readonly #workerIds: (string | undefined)[] = [];
  readonly #freeWorkers: number[] = [];
  /** Per worker index: its hash ids (the holder element keeps each one's position here). */
  readonly #lists: Uint32Array[] = [];
  readonly #listLengths: number[] = [];
  /** Per worker index: k/device, k/host, v/device, v/host. */
  #counts = new Float64Array(4 * 16);
  /** Expiry (ms, exclusive) per speculative entry, key hashId * 2^16 + worker. */
  readonly #specExpiry = new Map<number, number>();
  /** Per worker index: hash ids carrying a claim. */
  readonly #specByWorker: (Set<number> | undefined)[] = [];

  /** Index of a known worker, or -1. */
  workerIndexOf(workerId: string): number {
    return this.#workerIndex.get(workerId) ?? -1;
  }

  /** Id of a worker index (for overlap results). */
  workerIdAt(worker: number): string {
    return this.#workerIds[worker]!;
  }

  /** One more than the largest worker index in use: per-worker scratch arrays need this length. */
  get workerBound(): number {
    return this.#workerIds.length;
  }

  hasWorker(workerId: string): boolean {
    return this.#workerIndex.has(workerId);
  }

  workerIds(): string[] {
    return [...this.#workerIndex.keys()];
  }

  get distinctHashes(): number {
    return this.hashes.size;
  }

  /** The index of `workerId`, registering it when new. */
  worker(workerId: string): number {
    const known = this.#workerIndex.get(workerId);
    if (known !== undefined) return known;
    const worker = this.#freeWorkers.length > 0 ? this.#freeWorkers.pop()! : this.#workerIds.length;
    if (worker >= MAX_WORKERS) throw new KvIndexArgumentError("workerId", `${JSON.stringify(workerId)} would be worker ${worker + 1}: the index tracks at most ${MAX_WORKERS} at once`);
    this.#workerIndex.set(workerId, worker);
    this.#workerIds[worker] = workerId;
    this.#lists[worker] = new Uint32Array(16);
    this.#listLengths[worker] = 0;
    if (4 * worker + 4 > this.#counts.length) {
      const counts = new Float64Array(this.#counts.length * 2);
      counts.set(this.#counts);
      this.#counts = counts;
    }
    this.#counts.fill(0, 4 * worker, 4 * worker + 4);
    return worker;
  }

  /** `stored`: the component of (lo, hi) is now on `tier` (whatever it was before). K confirms a speculative claim. */
  store(worker: number, component: KvComponent, lo: number, hi: number, tier: KvTier): void {
    const id = this.hashes.insert(lo, hi);
    let at = this.holders.locate(id, worker);
    if (at < 0) at = this.#link(id, worker);
    const slab = this.holders.located;
    const head = slab[at]!;
    const shift = shiftOf(component);
    const code = tierCode(tier);
    const before = (head >>> shift) & 3;
    if (before !== TIER_NONE) bump(this.#counts, 4 * worker + countSlot(shift, before), -1);
    bump(this.#counts, 4 * worker + countSlot(shift, code), 1);
    let next = (head & ~(3 << shift)) | (code << shift);
    if (component === "k" && (next & SPECULATIVE) !== 0) {
      next &= ~SPECULATIVE;
      this.#dropClaim(id, worker);
    }
    slab[at] = next;
  }

  /** `removed`: the component leaves `tier`; nothing happens if it is elsewhere. */
  remove(worker: number, component: KvComponent, lo: number, hi: number, tier: KvTier): void {
    const id = this.hashes.find(lo, hi);
    if (id < 0) return;
    const at = this.holders.locate(id, worker);
    if (at < 0) return;
    const slab = this.holders.located;
    const head = slab[at]!;
    const shift = shiftOf(component);
    const code = tierCode(tier);
    if (((head >>> shift) & 3) !== code) return;
    bump(this.#counts, 4 * worker + countSlot(shift, code), -1);
    const next = head & ~(3 << shift);
    slab[at] = next;
    if ((next & STATE_BITS) === 0) this.#unlink(id, worker, slab, at);
  }

  /** `moved`: the component goes from `fromTier` to `toTier`; nothing happens if it is not on `fromTier`. */
  move(worker: number, component: KvComponent, lo: number, hi: number, fromTier: KvTier, toTier: KvTier): void {
    const id = this.hashes.find(lo, hi);
    if (id < 0) return;
    const at = this.holders.locate(id, worker);
    if (at < 0) return;
    const slab = this.holders.located;
    const head = slab[at]!;
    const shift = shiftOf(component);
    const from = tierCode(fromTier);
    if (((head >>> shift) & 3) !== from) return;
    const to = tierCode(toTier);
    bump(this.#counts, 4 * worker + countSlot(shift, from), -1);
    bump(this.#counts, 4 * worker + countSlot(shift, to), 1);
    slab[at] = (head & ~(3 << shift)) | (to << shift);
  }

  /** Forgets every real block of a worker (`cleared`, a new epoch, a snapshot); speculative claims stay. */
  clearReal(workerId: string): void {
    const worker = this.workerIndexOf(workerId);
    if (worker < 0) return;
    // From the end: an unlink moves the list's last element into the hole, which is then already visited.
    for (let p = this.#listLengths[worker]! - 1; p >= 0; p--) {
      const id = this.#lists[worker]![p]!;
      const at = this.holders.locate(id, worker);
      const slab = this.holders.located;
      const next = slab[at]! & ~0xf;
      slab[at] = next;
      if ((next & STATE_BITS) === 0) this.#unlink(id, worker, slab, at);
    }
    this.#counts.fill(0, 4 * worker, 4 * worker + 4);
  }

  /** Claims (lo, hi) for a worker until `expiresAtMs`, keeping the later expiry of an existing claim. */
  speculate(worker: number, lo: number, hi: number, expiresAtMs: number): void {
    const id = this.hashes.insert(lo, hi);
    let at = this.holders.locate(id, worker);
    if (at < 0) at = this.#link(id, worker);
    const slab = this.holders.located;
    const key = id * MAX_WORKERS + worker;
    const before = this.#specExpiry.get(key);
    this.#specExpiry.set(key, before === undefined ? expiresAtMs : Math.max(before, expiresAtMs));
    slab[at] = slab[at]! | SPECULATIVE;
    let claims = this.#specByWorker[worker];
    if (claims === undefined) this.#specByWorker[worker] = claims = new Set();
    claims.add(id);
  }

  /** Expiry of the claim on (hash id, worker); only meaningful when the entry's SPECULATIVE bit is set. */
  claimExpiry(id: number, worker: number): number {
    return this.#specExpiry.get(id * MAX_WORKERS + worker) ?? Number.NEGATIVE_INFINITY;
  }

  /** Drops a speculative claim if it has expired by `nowMs`. */
  expire(workerId: string, lo: number, hi: number, nowMs: number): void {
    const worker = this.workerIndexOf(workerId);
    if (worker < 0) return;
    const id = this.hashes.find(lo, hi);
    if (id < 0) return;
    const at = this.holders.locate(id, worker);
    if (at < 0) return;
    const slab = this.holders.located;
    const head = slab[at]!;
    if ((head & SPECULATIVE) === 0 || this.claimExpiry(id, worker) > nowMs) return;
    const next = head & ~SPECULATIVE;
    slab[at] = next;
    this.#dropClaim(id, worker);
    if ((next & STATE_BITS) === 0) this.#unlink(id, worker, slab, at);
  }

  /** Forgets everything about a worker. Returns whether it was known. */
  dropWorker(workerId: string): boolean {
    const worker = this.workerIndexOf(workerId);
    if (worker < 0) return false;
    const list = this.#lists[worker]!;
    for (let p = 0; p < this.#listLengths[worker]!; p++) {
      const id = list[p]!;
      this.holders.removeAt(id, this.holders.locate(id, worker));
      if (this.holders.count(id) === 0) this.hashes.delete(id);
    }
    for (const id of this.#specByWorker[worker] ?? []) this.#specExpiry.delete(id * MAX_WORKERS + worker);
    this.#workerIndex.delete(workerId);
    this.#workerIds[worker] = undefined;
    this.#lists[worker] = new Uint32Array(0);
    this.#listLengths[worker] = 0;
    this.#specByWorker[worker] = undefined;
    this.#freeWorkers.push(worker);
    return true;
  }

  counts(workerId: string): KvBlockCounts {
    const worker = this.workerIndexOf(workerId);
    if (worker < 0) return zeroCounts();
    const c = this.#counts;
    const b = 4 * worker;
    return { k: { device: c[b]!, host: c[b + 1]! }, v: { device: c[b + 2]!, host: c[b + 3]! } };
  }

  /** Speculative claims of a worker, only those alive at `nowMs` when it is given. */
  speculativeCount(workerId: string, nowMs?: number): number {
    const worker = this.workerIndexOf(workerId);
    const claims = worker < 0 ? undefined : this.#specByWorker[worker];
    if (claims === undefined) return 0;
    if (nowMs === undefined) return claims.size;
    let alive = 0;
    for (const id of claims) if (nowMs < this.claimExpiry(id, worker)) alive++;
    return alive;
  }

  /** A worker's real residency in snapshot form: groups k/device, k/host, v/device, v/host, empty ones left out, hashes ascending. */
  groups(workerId: string): KvIndexResidencyGroup[] {
    const worker = this.workerIndexOf(workerId);
    if (worker < 0) return [];
    const byGroup: bigint[][] = [[], [], [], []];
    const list = this.#lists[worker]!;
    for (let p = 0; p < this.#listLengths[worker]!; p++) {
      const id = list[p]!;
      const at = this.holders.locate(id, worker);
      const head = this.holders.located[at]!;
      const hash = joinHash(this.hashes.lo(id), this.hashes.hi(id));
      const k = (head >>> K_SHIFT) & 3;
      const v = (head >>> V_SHIFT) & 3;
      if (k !== TIER_NONE) byGroup[countSlot(K_SHIFT, k)]!.push(hash);
      if (v !== TIER_NONE) byGroup[countSlot(V_SHIFT, v)]!.push(hash);
    }
    const groups: KvIndexResidencyGroup[] = [];
    GROUP_ORDER.forEach(([component, tier], g) => {
      const blockHashes = byGroup[g]!;
      if (blockHashes.length > 0) groups.push({ component, tier, blockHashes: blockHashes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) });
    });
    return groups;
  }

  /** Adds an empty entry (worker, id) to both lists; returns its word index in `holders.located`. */
  #link(id: number, worker: number): number {
    const position = this.#listLengths[worker]!;
    if (position >= this.#lists[worker]!.length) this.#lists[worker] = grown(this.#lists[worker]!, position + 1);
    this.#lists[worker]![position] = id;
    this.#listLengths[worker] = position + 1;
    return this.holders.push(id, worker << 8, position);
  }

  /** Removes the entry at word `at` of `slab` (id's list) from both lists, and the hash when nobody holds it any more. */
  #unlink(id: number, worker: number, slab: Uint32Array, at: number): void {
    const position = slab[at + 1]!;
    this.holders.removeAt(id, at);
    if (this.holders.count(id) === 0) this.hashes.delete(id);
    // The worker's list: its last hash id moves into the hole, and its holder element learns the new position.
    const list = this.#lists[worker]!;
    const last = this.#listLengths[worker]! - 1;
    this.#listLengths[worker] = last;
    if (position === last) return;
    const moved = list[last]!;
    list[position] = moved;
    const movedAt = this.holders.locate(moved, worker);
    this.holders.located[movedAt + 1] = position;
  }

  #dropClaim(id: number, worker: number): void {
    this.#specExpiry.delete(id * MAX_WORKERS + worker);
    this.#specByWorker[worker]?.delete(id);
  }
}
