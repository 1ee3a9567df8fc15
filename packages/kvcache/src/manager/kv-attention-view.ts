/**
 * The attention view: how the model runner reads K and V, through the
 * manager, without a copy (the attention kernel streams K and V near memory
 * speed, so it walks the raw arenas itself).
 *
 * Model. Each (component, tier) pool is one arena of fixed slots in the
 * component's stored dtype (`dtype`: a Float32Array for f32, a Uint16Array of
 * raw bf16 or f16 patterns otherwise); slot i of a component is elements
 * [i·slotFloats, (i+1)·slotFloats) of its arena, laid out
 * [layers][heads][blockSizeTokens][head_dim]. V's device and host arenas share V's dtype. The view hands out the
 * three arenas a kernel reads (K on the device; V on the device and on the
 * host) and, per request, where each block of its table lives. The arenas are
 * allocated once and never move, so the view can be kept; the slots cannot:
 * allocation, import and freeing may demote or promote halves, so block slots
 * are valid only until the manager's next call that can allocate or free.
 *
 * Residency contract (what the manager guarantees and the view checks): K of
 * every block a running request uses is on the device, in both modes
 * (selective-V never demotes a used block's K); a K on the host is a broken
 * invariant and throws. V is on the device in full mode, and on the device or
 * the host in selective-V mode; the kernel reads host V rows in place, from
 * the host arena, and reports the bytes it read per tier itself.
 */
import { allocateArena } from "../dtype/kv-dtype-codec.js";
import { blockElements, type KvArena, type KvComponent, type KvDtype } from "../kv-types.js";
import type { BlockPool } from "../pool/block-pool.js";
import { KvCacheConfigError, KvCacheInvariantError } from "../pool/errors.js";

/** Where each block of a request's table lives, one entry per block, filled by `fillBlockSlots`. */
export interface KvBlockSlots {
  /** Slot in the device K arena. */
  kSlot: Int32Array;
  /** Slot in the V arena that `vTier` names. */
  vSlot: Int32Array;
  /** 0 = the device V arena, 1 = the host V arena. */
  vTier: Uint8Array;
}

export interface KvAttentionView {
  /** Tokens per block: position p of a request is in block floor(p / blockSizeTokens) of its table. */
  readonly blockSizeTokens: number;
  /** Elements per slot, per component: layers · heads · blockSizeTokens · head_dim. */
  readonly slotFloats: Readonly<Record<KvComponent, number>>;
  /** How each component's elements are stored; an arena is a Float32Array iff its component is f32. */
  readonly dtype: Readonly<Record<KvComponent, KvDtype>>;
  /** The whole device K arena (the pool's own memory, not a copy). */
  readonly kDevice: KvArena;
  /** The whole device V arena. */
  readonly vDevice: KvArena;
  /** The whole host V arena (V's dtype); empty when V has no host tier. */
  readonly vHost: KvArena;
  /**
   * Writes the slots of every block of `requestId`'s table into `into`, at
   * entries `at`, `at + 1`, …, in table order, and returns how many it wrote
   * (the table's length). Throws KvCacheInvariantError when a block's K is not
   * on the device, or when `into` is too short.
   */
  fillBlockSlots(requestId: string, into: KvBlockSlots, at: number): number;
}

/** The view over `pool`'s arenas; `tableOf` gives a request's block table (the manager's). */
export function createKvAttentionView(pool: BlockPool, tableOf: (requestId: string) => readonly number[]): KvAttentionView {
  const arena = (component: KvComponent, tier: "device" | "host"): KvArena => {
    const storage = pool.storageOf(component, tier);
    if (storage === undefined) return allocateArena(pool.dtype[component], 0);
    const view = storage.arenaView?.();
    if (view === undefined) throw new KvCacheConfigError(`createStorage(${component}, ${tier})`, "must expose its arena (arenaView) for the attention view");
    return view;
  };
  const slotFloats = { k: blockElements(pool.shape, "k", pool.blockSizeTokens), v: blockElements(pool.shape, "v", pool.blockSizeTokens) };
  return {
    blockSizeTokens: pool.blockSizeTokens,
    slotFloats,
    dtype: pool.dtype,
    kDevice: arena("k", "device"),
    vDevice: arena("v", "device"),
    vHost: arena("v", "host"),
    fillBlockSlots(requestId, into, at) {
      const table = tableOf(requestId);
      if (at < 0 || at + table.length > Math.min(into.kSlot.length, into.vSlot.length, into.vTier.length)) {
        throw new KvCacheInvariantError(`request ${requestId}: ${table.length} block entries from ${at} do not fit the slot arrays`);
      }
      table.forEach((blockId, j) => {
        const k = pool.residency(blockId, "k")!;
        if (k.tier !== "device") throw new KvCacheInvariantError(`block ${blockId} has K on ${k.tier}; K must be on the device to attend`);
        const v = pool.residency(blockId, "v")!;
        into.kSlot[at + j] = k.slot;
        into.vSlot[at + j] = v.slot;
        into.vTier[at + j] = v.tier === "device" ? 0 : 1;
      });
      return table.length;
    },
  };
}
