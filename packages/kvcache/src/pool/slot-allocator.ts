/**
 * Free slots of one (component, tier) pool. A stack: the most recently freed
 * slot is reused first (its memory is warm); slots start in ascending order
 * so that a fresh pool hands out 0, 1, 2, ...
 */
export class SlotAllocator {
  private readonly free: Int32Array;
  private top: number;

  constructor(readonly numSlots: number) {
    this.free = new Int32Array(numSlots);
    for (let i = 0; i < numSlots; i++) this.free[i] = numSlots - 1 - i;
    this.top = numSlots;
  }

  get freeCount(): number {
    return this.top;
  }

  /** A free slot, or null when the pool is full ("full" is a value, not an error). */
  take(): number | null {
    return this.top === 0 ? null : this.free[--this.top]!;
  }

  release(slot: number): void {
    if (this.top >= this.numSlots) throw new Error(`slot allocator: releasing slot ${slot} into a pool that is already all free`);
    this.free[this.top++] = slot;
  }
}
