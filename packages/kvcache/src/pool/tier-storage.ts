/**
 * Where the bytes of one (component, tier) live: a fixed number of slots of
 * `slotFloats` f32 values each, allocated once up front.
 *
 * This interface is the seam where a GPU backend plugs in: the pool only
 * reads, writes and copies whole or partial slots through it. On this
 * CPU-only machine both tiers are `HostArenaStorage`: the "device" tier is a
 * host-memory arena standing in for accelerator memory (a labelled stand-in,
 * not a mock: the same code path moves and counts the same bytes).
 */
import type { KvComponent, KvTier } from "../kv-types.js";

export interface TierStorage {
  readonly component: KvComponent;
  readonly tier: KvTier;
  readonly numSlots: number;
  /** f32 values per slot: [layers][heads][block_size][head_dim]. */
  readonly slotFloats: number;
  /** Copies `length` floats starting at `offset` within `slot` into `dst` at `dstOffset`. */
  read(slot: number, offset: number, length: number, dst: Float32Array, dstOffset: number): void;
  /** Copies `src` into `slot` starting at `offset`. */
  write(slot: number, offset: number, src: Float32Array): void;
  /** Copies a whole slot to a slot of another storage of the same component. */
  copySlotTo(slot: number, target: TierStorage, targetSlot: number): void;
  /** A zero-copy view of a slot, where the memory is addressable from JS (host arenas); undefined otherwise. */
  view?(slot: number): Float32Array;
  /** The whole arena (slot i at i·slotFloats), for kernels that walk block tables themselves; host arenas only. */
  arenaView?(): Float32Array;
}

/** A preallocated arena in host memory. Used for the host tier, and for the device tier on CPU-only workers. */
export class HostArenaStorage implements TierStorage {
  private readonly arena: Float32Array;

  constructor(
    readonly component: KvComponent,
    readonly tier: KvTier,
    readonly numSlots: number,
    readonly slotFloats: number,
  ) {
    // One allocation for the whole pool. The runtime hands large arrays out as zero pages the OS maps on
    // first write; writing them now moves those page faults from the first requests (and imports) to start-up.
    this.arena = new Float32Array(numSlots * slotFloats);
    this.arena.fill(0);
  }

  read(slot: number, offset: number, length: number, dst: Float32Array, dstOffset: number): void {
    const start = slot * this.slotFloats + offset;
    dst.set(this.arena.subarray(start, start + length), dstOffset);
  }

  write(slot: number, offset: number, src: Float32Array): void {
    this.arena.set(src, slot * this.slotFloats + offset);
  }

  copySlotTo(slot: number, target: TierStorage, targetSlot: number): void {
    target.write(targetSlot, 0, this.view(slot));
  }

  view(slot: number): Float32Array {
    return this.arena.subarray(slot * this.slotFloats, (slot + 1) * this.slotFloats);
  }

  arenaView(): Float32Array {
    return this.arena;
  }
}
