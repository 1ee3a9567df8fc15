/**
 * Partial ordering of a vocabulary without sorting it. Every selection in
 * the sampler (top-k, the top-p nucleus, top-N logprobs) ranks tokens the
 * same way: higher logit first, equal logits by lower id. Temperature is a
 * positive scale, so ranking by logit is ranking by probability, and it stays
 * exact where probabilities round to the same double. `TokenHeap` is a binary
 * heap of token ids over a caller's `Int32Array`, either best-first (its top
 * is the best token: pop the nucleus in order, O(n) heapify + O(log n) per
 * pop) or worst-first (its top is the worst kept token: a bounded top-k in
 * O(n log k), where most tokens are rejected by one comparison).
 */

/** Whether token `a` ranks before token `b`: higher logit, or equal logit and lower id. */
export function ranksBefore(logits: Float32Array, a: number, b: number): boolean {
  const la = logits[a]!;
  const lb = logits[b]!;
  return la > lb || (la === lb && a < b);
}

/** Which end of the ranking a heap keeps at its top. */
export type HeapTop = "best" | "worst";

/** A binary heap of token ids stored in `ids[0 … size)`, ranked by `ranksBefore`. */
export class TokenHeap {
  private readonly logits: Float32Array;
  private readonly ids: Int32Array;
  private readonly bestOnTop: boolean;
  /** Number of ids in the heap; they occupy ids[0 … size). */
  size = 0;

  constructor(logits: Float32Array, ids: Int32Array, top: HeapTop) {
    this.logits = logits;
    this.ids = ids;
    this.bestOnTop = top === "best";
  }

  /** Whether id `a` belongs above id `b` in this heap. */
  private above(a: number, b: number): boolean {
    return this.bestOnTop ? ranksBefore(this.logits, a, b) : ranksBefore(this.logits, b, a);
  }

  /** The id at the top (best or worst, per the heap's kind); the heap must not be empty. */
  peek(): number {
    return this.ids[0]!;
  }

  /** Turns ids[0 … count) into a heap in O(count). */
  heapify(count: number): void {
    this.size = count;
    for (let i = (count >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  push(id: number): void {
    let i = this.size++;
    const ids = this.ids;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentId = ids[parent]!;
      if (!this.above(id, parentId)) break;
      ids[i] = parentId;
      i = parent;
    }
    ids[i] = id;
  }

  /** Replaces the top with `id` and restores the heap (one sift, cheaper than pop + push). */
  replaceTop(id: number): void {
    this.ids[0] = id;
    this.siftDown(0);
  }

  /**
   * Removes the top and returns it. NOTE: the popped id is written to
   * ids[size] (the slot the heap just gave up), as in heapsort, so popping j
   * times leaves the popped ids in ids[size … size + j) in reverse pop order.
   */
  pop(): number {
    const ids = this.ids;
    const top = ids[0]!;
    const last = --this.size;
    ids[0] = ids[last]!;
    ids[last] = top;
    if (last > 0) this.siftDown(0);
    return top;
  }

  private siftDown(start: number): void {
    const ids = this.ids;
    const size = this.size;
    const id = ids[start]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.above(ids[right]!, ids[child]!)) child = right;
      const childId = ids[child]!;
      if (!this.above(childId, id)) break;
      ids[i] = childId;
      i = child;
    }
    ids[i] = id;
  }
}
