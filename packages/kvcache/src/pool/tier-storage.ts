/**
 * Where the bytes of one (component, tier) live: a fixed number of slots of
 * `slotFloats` elements each, allocated once up front, stored in the
 * component's dtype (f32, or the raw 16-bit patterns of bf16 or f16).
 *
 * Values go in and come out as f32 (`read` widens exactly, `write` rounds to
 * nearest even into the stored dtype); whole slots move between tiers of one
 * component as raw stored bits (`copySlotTo`: both tiers of a component share
 * its dtype, so demotion and promotion never convert).
 *
 * This interface is the seam where a GPU backend plugs in: the pool only
 * reads, writes and copies whole or partial slots through it. On this
 * CPU-only machine both tiers are `HostArenaStorage`: the "device" tier is a
 * host-memory arena standing in for accelerator memory (a labelled stand-in,
 * not a mock: the same code path moves and counts the same bytes).
 */
import { allocateArena, arenaMatchesDtype, narrowF32Into, widenIntoF32 } from "../dtype/kv-dtype-codec.js";
import type { KvArena, KvComponent, KvDtype, KvTier } from "../kv-types.js";
import { KvCacheInvariantError } from "./errors.js";

export interface TierStorage {
  readonly component: KvComponent;
  readonly tier: KvTier;
  readonly numSlots: number;
  /** Elements per slot: [layers][heads][block_size][head_dim] (the name predates 16-bit storage). */
  readonly slotFloats: number;
  /** How each element is stored (optional for storage written before 16-bit pools; absent = f32). */
  readonly dtype?: KvDtype;
  /** Copies `length` values starting at `offset` within `slot` into `dst` at `dstOffset`, widened to f32 (exact). */
  read(slot: number, offset: number, length: number, dst: Float32Array, dstOffset: number): void;
  /** Copies f32 `src` into `slot` starting at `offset`, rounded to the stored dtype (nearest even). */
  write(slot: number, offset: number, src: Float32Array): void;
  /** Copies a whole slot, as stored bits, to a slot of another storage of the same component (and so the same dtype). */
  copySlotTo(slot: number, target: TierStorage, targetSlot: number): void;
  /** Copies stored elements (`src` in this storage's dtype: Float32Array iff f32) into `slot` from `offset`, unconverted. */
  writeStored?(slot: number, offset: number, src: KvArena): void;
  /** A zero-copy view of a slot in the stored dtype, where the memory is addressable from JS (host arenas); undefined otherwise. */
  view?(slot: number): KvArena;
  /** The whole arena (slot i at i·slotFloats) in the stored dtype, for kernels that walk block tables themselves; host arenas only. */
  arenaView?(): KvArena;
}

/** A preallocated arena in host memory. Used for the host tier, and for the device tier on CPU-only workers. */
export class HostArenaStorage implements TierStorage {
  private readonly arena: KvArena;

  constructor(
    readonly component: KvComponent,
    readonly tier: KvTier,
    readonly numSlots: number,
    readonly slotFloats: number,
    readonly dtype: KvDtype = "f32",
  ) {
    // One allocation for the whole pool. The runtime hands large arrays out as zero pages the OS maps on
    // first write; writing them now moves those page faults from the first requests (and imports) to start-up.
    this.arena = allocateArena(dtype, numSlots * slotFloats);
    this.arena.fill(0);
  }

  read(slot: number, offset: number, length: number, dst: Float32Array, dstOffset: number): void {
    const start = slot * this.slotFloats + offset;
    if (this.dtype === "f32") dst.set((this.arena as Float32Array).subarray(start, start + length), dstOffset);
    else widenIntoF32(this.dtype, this.arena as Uint16Array, start, length, dst, dstOffset);
  }

  write(slot: number, offset: number, src: Float32Array): void {
    const start = slot * this.slotFloats + offset;
    if (this.dtype === "f32") (this.arena as Float32Array).set(src, start);
    else narrowF32Into(this.dtype, src, this.arena as Uint16Array, start);
  }

  writeStored(slot: number, offset: number, src: KvArena): void {
    if (!arenaMatchesDtype(src, this.dtype)) throw new KvCacheInvariantError(`${this.component}/${this.tier} storage holds ${this.dtype}; given a ${src.constructor.name}`);
    (this.arena as Float32Array).set(src as Float32Array, slot * this.slotFloats + offset);
  }

  copySlotTo(slot: number, target: TierStorage, targetSlot: number): void {
    if ((target.dtype ?? "f32") !== this.dtype) {
      throw new KvCacheInvariantError(`copying a ${this.component} slot from ${this.dtype} ${this.tier} storage to ${target.dtype ?? "f32"} ${target.tier} storage: the tiers of a component share its dtype`);
    }
    if (target.writeStored !== undefined) return target.writeStored(targetSlot, 0, this.view(slot));
    // A storage that takes only f32 (so it is f32 storage): the view is f32 too.
    target.write(targetSlot, 0, this.view(slot) as Float32Array);
  }

  view(slot: number): KvArena {
    return this.arena.subarray(slot * this.slotFloats, (slot + 1) * this.slotFloats);
  }

  arenaView(): KvArena {
    return this.arena;
  }
}
