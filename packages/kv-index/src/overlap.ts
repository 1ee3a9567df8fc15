/**
 * Prefix overlap. A block hash already encodes its whole prefix (it chains
 * the parent's hash), so walking the request's hashes in chain order against
 * a flat hash → workers map is exact: no radix tree is needed. Workers that
 * hold block 0 start the walk; each step keeps only the workers that also
 * hold the next block; the walk ends when none is left. Cost: one table
 * lookup per block plus one read of each holder of each block walked, a
 * contiguous run of u32 pairs (see holder-lists.ts); a worker is still
 * alive when its stamp (a reused Int32Array, one slot per worker index) is
 * the previous step's, so nothing is allocated per block or per holder.
 *
 * The rule, per worker and per leading block, in order:
 * - K resident on any tier → matched. It is a device hit when K and V are both
 *   on the device, otherwise a host hit (V on the host, K on the host, or V not
 *   reported yet: the pool keeps both halves of a live block, so a lone K is a
 *   batch boundary that fell between the two `stored` events). A host hit with
 *   K on the device and V on the host is also counted in kDeviceVHostBlocks:
 *   the index does not know which workers run selective V, the selector does.
 * - else an unexpired speculative claim (`nowMs` given and < expiry) → matched
 *   as a device hit, also counted in speculativeBlocks: the routed request
 *   will prefill the block on the device.
 * - else the walk stops for that worker (prefix semantics: a later block it
 *   holds is useless without this one).
 */
import type { KvIndexOverlapOptions, WorkerOverlap } from "./kv-index-types.js";
import * as residency from "./residency-table.js";
import { type ResidencyTable, splitHash } from "./residency-table.js";

// Module constants read once from the table's layout, so the walk's inner loop reads locals, not imported bindings.
const SPECULATIVE: number = residency.SPECULATIVE;
const TIER_DEVICE: number = residency.TIER_DEVICE;
const TIER_HOST: number = residency.TIER_HOST;
const TIER_NONE: number = residency.TIER_NONE;
const V_SHIFT: number = residency.V_SHIFT;

/** Stamps restart from 0 before they would pass this (Int32 range, with room for one walk). */
const STAMP_LIMIT = 0x3fff_0000;

/** One walker per index: its scratch arrays are reused by every call (the index is synchronous). */
export class PrefixOverlap {
  #words = new Uint32Array(512);
  /** Per worker index: base + step + 1 of the last step it matched. */
  #stamp = new Int32Array(0);
  #base = 0;
  /** Per worker index: matched, device, host, k-device-v-host, speculative. */
  #counters = new Int32Array(0);
  /** Workers that matched block 0, in holder order. */
  #started = new Int32Array(0);

  /** Workers holding at least the first block, with how many leading blocks each holds; a worker holding none is absent. */
  run(table: ResidencyTable, blockHashes: readonly bigint[], options: KvIndexOverlapOptions = {}): Map<string, WorkerOverlap> {
    const result = new Map<string, WorkerOverlap>();
    const n = blockHashes.length;
    if (n === 0) return result;
    this.#prepare(table.workerBound, n);
    const words = this.#words;
    for (let i = 0; i < n; i++) splitHash(blockHashes[i]!, words, 2 * i);
    const nowMs = options.nowMs;
    const stamp = this.#stamp;
    const counters = this.#counters;
    const started = this.#started;
    const base = this.#base;
    this.#base += n + 1;
    let startedCount = 0;
    // The last walked list (and whether a claim was in it), the stamp its survivors carry, and how many
    // later blocks had an identical list and were skipped (see NOTE below).
    let prevSlab: Uint32Array = EMPTY;
    let prevStart = 0;
    let prevCount = -1;
    let prevClaims = true;
    let aliveStamp = 0;
    let repeats = 0;
    for (let i = 0; i < n; i++) {
      const id = table.hashes.find(words[2 * i]!, words[2 * i + 1]!);
      if (id < 0) break;
      const holders = table.holders.count(id);
      const slab = table.holders.slab(id);
      const start = table.holders.start(id);
      // NOTE: the workers that store a prompt push onto each of its blocks' holder lists in the same order, so
      // the blocks of a shared prefix usually have identical lists (same workers, same states). Such a block
      // changes nobody's fate and counts what the previous one counted: it is compared (one sequential read
      // per holder) instead of walked, and the previous block's counts are added again at the end of the run.
      // Lists with a claim are always walked (a claim's expiry is per block).
      if (!prevClaims && holders === prevCount && sameHeads(slab, start, prevSlab, prevStart, holders)) {
        repeats++;
        continue;
      }
      if (repeats > 0) {
        addAgain(counters, stamp, aliveStamp, prevSlab, prevStart, prevCount, repeats);
        repeats = 0;
      }
      const nextStamp = base + i + 1;
      let next = 0;
      let claims = false;
      for (let j = 0; j < holders; j++) {
        const head = slab[start + 2 * j]!;
        if ((head & SPECULATIVE) !== 0) claims = true;
        const worker = head >>> 8;
        if (i > 0 && stamp[worker] !== aliveStamp) continue;
        let hit = realHit(head);
        if (hit === 0 && (head & SPECULATIVE) !== 0 && nowMs !== undefined && nowMs < table.claimExpiry(id, worker)) hit = HIT_SPECULATIVE;
        if (hit === 0) continue;
        const c = 5 * worker;
        if (i === 0) {
          counters.fill(0, c, c + 5);
          started[startedCount++] = worker;
        }
        count(counters, c, hit, 1);
        stamp[worker] = nextStamp;
        next++;
      }
      if (next === 0) break;
      aliveStamp = nextStamp;
      prevSlab = slab;
      prevStart = start;
      prevCount = holders;
      prevClaims = claims;
    }
    if (repeats > 0) addAgain(counters, stamp, aliveStamp, prevSlab, prevStart, prevCount, repeats);
    for (let s = 0; s < startedCount; s++) {
      const worker = started[s]!;
      const c = 5 * worker;
      result.set(table.workerIdAt(worker), {
        matchedBlocks: counters[c]!,
        deviceBlocks: counters[c + 1]!,
        hostBlocks: counters[c + 2]!,
        kDeviceVHostBlocks: counters[c + 3]!,
        speculativeBlocks: counters[c + 4]!,
      });
    }
    return result;
  }

  #prepare(workers: number, blocks: number): void {
    if (2 * blocks > this.#words.length) this.#words = new Uint32Array(2 * blocks);
    if (workers > this.#stamp.length) {
      const stamp = new Int32Array(Math.max(workers, 2 * this.#stamp.length));
      stamp.set(this.#stamp);
      this.#stamp = stamp;
      this.#counters = new Int32Array(5 * stamp.length);
      this.#started = new Int32Array(stamp.length);
    }
    if (this.#base + blocks + 1 > STAMP_LIMIT) {
      this.#stamp.fill(0);
      this.#base = 0;
    }
  }
}

const EMPTY = new Uint32Array(0);

/** Hit classes: 0 none, 1 device, 2 host, 3 K on the device + V on the host, 4 speculative (see the rule above). */
const HIT_DEVICE = 1;
const HIT_HOST = 2;
const HIT_K_DEVICE_V_HOST = 3;
const HIT_SPECULATIVE = 4;

/** The hit a head word's real residency makes (0 when K is absent: then only a claim can match). */
function realHit(head: number): number {
  const k = head & 3;
  if (k === TIER_DEVICE) {
    const v = (head >>> V_SHIFT) & 3;
    return v === TIER_DEVICE ? HIT_DEVICE : v === TIER_HOST ? HIT_K_DEVICE_V_HOST : HIT_HOST;
  }
  return k === TIER_NONE ? 0 : HIT_HOST;
}

/** Adds `times` hits of class `hit` to the counters of the worker at `c`: matched, device, host, k-device-v-host, speculative. */
function count(counters: Int32Array, c: number, hit: number, times: number): void {
  counters[c] = counters[c]! + times;
  if (hit === HIT_HOST || hit === HIT_K_DEVICE_V_HOST) counters[c + 2] = counters[c + 2]! + times;
  else counters[c + 1] = counters[c + 1]! + times;
  if (hit === HIT_K_DEVICE_V_HOST) counters[c + 3] = counters[c + 3]! + times;
  if (hit === HIT_SPECULATIVE) counters[c + 4] = counters[c + 4]! + times;
}

/** Whether two holder lists have the same head words (workers and states) in the same order. */
function sameHeads(a: Uint32Array, aStart: number, b: Uint32Array, bStart: number, n: number): boolean {
  for (let j = 0; j < 2 * n; j += 2) if (a[aStart + j] !== b[bStart + j]) return false;
  return true;
}

/** Counts the list's hits again `times` over for the workers still alive (stamp = aliveStamp): skipped identical blocks. */
function addAgain(counters: Int32Array, stamp: Int32Array, aliveStamp: number, slab: Uint32Array, start: number, holders: number, times: number): void {
  for (let j = 0; j < holders; j++) {
    const head = slab[start + 2 * j]!;
    const worker = head >>> 8;
    if (stamp[worker] === aliveStamp) count(counters, 5 * worker, realHit(head), times);
  }
}
