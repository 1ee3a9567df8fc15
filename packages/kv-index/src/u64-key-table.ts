/**
 * A set of 64-bit keys (block hashes), each given a small dense id, in typed
 * arrays: no BigInt, no string and no object per key. A key is two u32
 * halves (lo, hi), the little-endian words of the u64.
 *
 * Layout: an open-addressing table of `capacity` (a power of two) slots of
 * two u32, the key's 32-bit mix (its home and a filter that spares a record
 * read per other key met on the probe) and id + 1 (0 = empty), linear
 * probing, and a record of four u32
 * per id: lo, hi and two payload words the owner uses as it likes (the
 * holder lists keep a key's list header, or its only holder, there), so one
 * cache line answers both "is this the key" and "who holds it". Ids are
 * reused through a free list, so the records stay dense. The table doubles
 * past MAX_LOAD; a deletion shifts the following run back (no tombstones),
 * so probes never lengthen with churn.
 *
 * Memory: 8 B per slot (at a load of 3/8…3/4 after growth: 10.7–21 B per
 * key) plus 16 B per record (capacity doubled as ids are handed out).
 */

/** Slots filled past this fraction double the table. */
const MAX_LOAD = 0.75;
const INITIAL_SLOTS = 16;
const INITIAL_RECORDS = 8;
/** u32 words per record: lo, hi, payload 0, payload 1. */
export const RECORD_WORDS = 4;

/**
 * The home slot of a key: a 32-bit mix of both halves (murmur3's finaliser
 * over lo ^ rotated-multiplied hi). Block hashes are already uniform, but a
 * caller's keys may not be (tests use 0…5), and linear probing needs spread.
 */
export function mixKey(lo: number, hi: number): number {
  let h = (lo ^ Math.imul(hi, 0x9e3779b1) ^ (hi >>> 15)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class U64KeyTable {
  /** Per slot two u32: the key's mixKey code and id + 1 (0 = empty). */
  #slots = new Uint32Array(2 * INITIAL_SLOTS);
  #mask = INITIAL_SLOTS - 1;
  /** lo, hi, payload, payload per id. */
  #records = new Uint32Array(INITIAL_RECORDS * RECORD_WORDS);
  /** Ids below this were handed out at least once. */
  #nextId = 0;
  #freeIds: number[] = [];
  #size = 0;

  /** Keys held. */
  get size(): number {
    return this.#size;
  }

  /** One more than the largest id handed out so far. */
  get idBound(): number {
    return this.#nextId;
  }

  /** The records, RECORD_WORDS per id; payload words at 4·id + 2 and + 3. Re-read after any insert (growth replaces the array). */
  get records(): Uint32Array {
    return this.#records;
  }

  lo(id: number): number {
    return this.#records[id * RECORD_WORDS]!;
  }

  hi(id: number): number {
    return this.#records[id * RECORD_WORDS + 1]!;
  }

  /** The id of (lo, hi), or -1. */
  find(lo: number, hi: number): number {
    const slots = this.#slots;
    const records = this.#records;
    const mask = this.#mask;
    const code = mixKey(lo, hi);
    // NOTE: the stored code rejects almost every other key of the run without a read of its record (a cache miss each).
    for (let i = code & mask; ; i = (i + 1) & mask) {
      const s = slots[2 * i + 1]!;
      if (s === 0) return -1;
      if (slots[2 * i] !== code) continue;
      const at = (s - 1) * RECORD_WORDS;
      if (records[at] === lo && records[at + 1] === hi) return s - 1;
    }
  }

  /** The id of (lo, hi), adding the key first if it is absent (a new key's payload words are 0). */
  insert(lo: number, hi: number): number {
    const slots = this.#slots;
    const records = this.#records;
    const mask = this.#mask;
    const code = mixKey(lo, hi);
    let i = code & mask;
    for (; ; i = (i + 1) & mask) {
      const s = slots[2 * i + 1]!;
      if (s === 0) break;
      if (slots[2 * i] !== code) continue;
      const at = (s - 1) * RECORD_WORDS;
      if (records[at] === lo && records[at + 1] === hi) return s - 1;
    }
    const id = this.#freeIds.length > 0 ? this.#freeIds.pop()! : this.#nextId++;
    const at = id * RECORD_WORDS;
    if (at + RECORD_WORDS > this.#records.length) this.#records = grown(this.#records, at + RECORD_WORDS);
    this.#records[at] = lo;
    this.#records[at + 1] = hi;
    this.#records[at + 2] = 0;
    this.#records[at + 3] = 0;
    slots[2 * i] = code;
    slots[2 * i + 1] = id + 1;
    this.#size++;
    if (this.#size > MAX_LOAD * (mask + 1)) this.#rehash(2 * (mask + 1));
    return id;
  }

  /** Removes the key of `id` (which must be held); its id may be handed out again. */
  delete(id: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = mixKey(this.lo(id), this.hi(id)) & mask;
    while (slots[2 * i + 1] !== id + 1) i = (i + 1) & mask;
    // Backward shift: pull later members of the run into the hole while their home allows it.
    for (let j = (i + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j]! & mask;
      // The member at j may move to i unless its home lies cyclically in (i, j].
      const homeBetween = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!homeBetween) {
        slots[2 * i] = slots[2 * j]!;
        slots[2 * i + 1] = slots[2 * j + 1]!;
        i = j;
      }
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    this.#size--;
    this.#freeIds.push(id);
  }

  #rehash(capacity: number): void {
    const old = this.#slots;
    const slots = new Uint32Array(2 * capacity);
    const mask = capacity - 1;
    for (let s = 0; s < old.length; s += 2) {
      if (old[s + 1] === 0) continue;
      const code = old[s]!;
      let i = code & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = code;
      slots[2 * i + 1] = old[s + 1]!;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** A copy of `array` with at least `length` elements, doubling. */
export function grown(array: Uint32Array, length: number): Uint32Array<ArrayBuffer> {
  let capacity = Math.max(array.length, 1);
  while (capacity < length) capacity *= 2;
  const next = new Uint32Array(capacity);
  next.set(array);
  return next;
}
