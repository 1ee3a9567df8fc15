/**
 * Per key id (see u64-key-table.ts), the list of its holders: elements of
 * two u32, (worker index << 8 | state byte, position of the key in that
 * worker's own list). Where a list lives:
 * - one holder (most block hashes: a worker's unique tail): inline, in the
 *   key's record payload, marked by INLINE in the head word, so a lookup
 *   and its holder share one cache line and cost nothing more;
 * - two or more: one block of a size-class slab (class c: blocks of 2^c
 *   elements), so an overlap walk reads a popular hash's holders as one
 *   contiguous run; the payload then holds (count << 8 | class, block).
 * A list that outgrows its block moves to the next class; a freed block is
 * reused from its class's free list. Order within a list is not kept:
 * removal moves the last element into the hole.
 *
 * Callers read and write an element through `slab(id)` and `start(id)`
 * (the records themselves for an inline holder); they change only the state
 * bits (0–4) of a head word, so the INLINE mark (bit 7) stays as it is.
 */
import { RECORD_WORDS as KEY_RECORD_WORDS, type U64KeyTable, grown } from "./u64-key-table.js";

/** Read once into a module constant: the hot paths below read a local, not an imported binding. */
const RECORD_WORDS: number = KEY_RECORD_WORDS;

/** Elements per block: 2^1 … 2^16 (a list is at most one element per worker, and workers are u16). */
const MAX_CLASS = 16;
const WORDS = 2;
/** Bit 7 of a head word: this element is the key's only holder, kept in its record. */
export const INLINE = 0x80;

export class HolderLists {
  /** The array the last `locate` or `push` found its element in (records or a slab). */
  located: Uint32Array = new Uint32Array(0);
  readonly #keys: U64KeyTable;
  readonly #slabs: Uint32Array[] = Array.from({ length: MAX_CLASS + 1 }, () => new Uint32Array(0));
  readonly #nextBlock: number[] = new Array<number>(MAX_CLASS + 1).fill(0);
  readonly #freeBlocks: number[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);

  constructor(keys: U64KeyTable) {
    this.#keys = keys;
  }

  /** Holders of `id` (0 for a new key). */
  count(id: number): number {
    const x = this.#keys.records[id * RECORD_WORDS + 2]!;
    return (x & INLINE) !== 0 ? 1 : x >>> 8;
  }

  /** The array holding `id`'s list: the key records for an inline holder, else its class's slab. */
  slab(id: number): Uint32Array {
    const records = this.#keys.records;
    const x = records[id * RECORD_WORDS + 2]!;
    return (x & INLINE) !== 0 ? records : this.#slabs[x & 31]!;
  }

  /** Where `id`'s elements start in `slab(id)`, two words each. */
  start(id: number): number {
    const records = this.#keys.records;
    const x = records[id * RECORD_WORDS + 2]!;
    return (x & INLINE) !== 0 ? id * RECORD_WORDS + 2 : records[id * RECORD_WORDS + 3]! << ((x & 31) + 1);
  }

  /**
   * The word index of `worker`'s element in `id`'s list (its head; its
   * position follows), or -1; the array holding it is left in `located`.
   * One read of the key's record and one scan: the hot path of every event.
   */
  locate(id: number, worker: number): number {
    const records = this.#keys.records;
    const r = id * RECORD_WORDS;
    const x = records[r + 2]!;
    if ((x & INLINE) !== 0) {
      this.located = records;
      return x >>> 8 === worker ? r + 2 : -1;
    }
    const n = x >>> 8;
    if (n === 0) return -1;
    const cls = x & 31;
    const slab = this.#slabs[cls]!;
    const start = records[r + 3]! << (cls + 1);
    for (let at = start, end = start + n * WORDS; at < end; at += WORDS) {
      if (slab[at]! >>> 8 === worker) {
        this.located = slab;
        return at;
      }
    }
    return -1;
  }

  /** Appends an element (head without INLINE) to `id`'s list; returns its word index in `located`. */
  push(id: number, head: number, position: number): number {
    const records = this.#keys.records;
    const r = id * RECORD_WORDS;
    const x = records[r + 2]!;
    if ((x & INLINE) === 0 && x >>> 8 === 0) {
      records[r + 2] = head | INLINE;
      records[r + 3] = position;
      this.located = records;
      return r + 2;
    }
    if ((x & INLINE) !== 0) {
      // The second holder: both move to a block of class 1.
      const block = this.#allocate(1);
      const slab = this.#slabs[1]!;
      const at = block << 2;
      slab[at] = x & ~INLINE;
      slab[at + 1] = records[r + 3]!;
      slab[at + 2] = head;
      slab[at + 3] = position;
      records[r + 2] = (2 << 8) | 1;
      records[r + 3] = block;
      this.located = slab;
      return at + 2;
    }
    const n = x >>> 8;
    let cls = x & 31;
    if (n === 1 << cls) {
      const fromStart = records[r + 3]! << (cls + 1);
      const block = this.#allocate(cls + 1);
      this.#slabs[cls + 1]!.set(this.#slabs[cls]!.subarray(fromStart, fromStart + n * WORDS), block << (cls + 2));
      this.#freeBlocks[cls]!.push(records[r + 3]!);
      records[r + 3] = block;
      cls++;
    }
    const at = (records[r + 3]! << (cls + 1)) + n * WORDS;
    const slab = this.#slabs[cls]!;
    slab[at] = head;
    slab[at + 1] = position;
    records[r + 2] = ((n + 1) << 8) | cls;
    this.located = slab;
    return at;
  }

  /** Removes the element at word index `at` (from `locate` or `push`) of `id`'s list; the last one takes its place, and a list left with one holder goes back inline. */
  removeAt(id: number, at: number): void {
    const records = this.#keys.records;
    const r = id * RECORD_WORDS;
    const x = records[r + 2]!;
    if ((x & INLINE) !== 0) {
      records[r + 2] = 0;
      records[r + 3] = 0;
      return;
    }
    const n = (x >>> 8) - 1;
    const cls = x & 31;
    const slab = this.#slabs[cls]!;
    const block = records[r + 3]!;
    const start = block << (cls + 1);
    slab[at] = slab[start + n * WORDS]!;
    slab[at + 1] = slab[start + n * WORDS + 1]!;
    if (n === 1) {
      records[r + 2] = slab[start]! | INLINE;
      records[r + 3] = slab[start + 1]!;
      this.#freeBlocks[cls]!.push(block);
    } else records[r + 2] = (n << 8) | cls;
  }

  #allocate(cls: number): number {
    const free = this.#freeBlocks[cls]!;
    if (free.length > 0) return free.pop()!;
    const block = this.#nextBlock[cls]!++;
    const words = (block + 1) << (cls + 1);
    if (words > this.#slabs[cls]!.length) this.#slabs[cls] = grown(this.#slabs[cls]!, words);
    return block;
  }
}
