/**
 * The block pool: owns physical storage, residency, the prefix-cache map and
 * the LRU of cached free blocks (vLLM's block_pool, with K and V split).
 *
 * Model. A logical block id covers `blockSizeTokens` tokens of every layer.
 * Its K half and its V half each live in a slot of their own pool: device or
 * host. A live block always has both halves somewhere; a free id has neither.
 * Blocks with refCount > 0 are used by requests; blocks with refCount 0 that
 * carry a hash stay cached (reusable by a later prompt with the same prefix)
 * in LRU order until their room is needed. Making room follows one order:
 * demote the LRU cached block's V to host, then its K, and only when the host
 * has no room either, drop a cached block entirely. "No room" is a null or a
 * false return, never an exception; the scheduler decides what to preempt.
 *
 * Every change to a hashed block's residency is reported through `onEvent`
 * (stored, moved, removed, cleared), which the worker feeds into its event log.
 *
 * Tenant cap (maxCachedFractionPerTenant < 1). Each hashed block belongs to
 * the tenant (cache salt) that registered it. When room is needed, the LRU
 * cached block of a tenant holding at least its cap of cached blocks goes
 * first; only when no tenant is at its cap does the plain LRU decide. So a
 * tenant that fills the cache recycles its own old blocks instead of everyone
 * else's prefixes. NOTE: the cap is enforced when room is needed, not when a
 * block is cached: a tenant alone on a worker keeps the whole cache (nothing
 * is thrown away while there is room), and the cap only decides who pays when
 * tenants compete. It counts logical blocks, not K and V slots: a cached block
 * holds one of each, and it is whole blocks that are dropped.
 */
import type { KvEventBody } from "../events/kv-event.js";
import { KV_COMPONENTS, KV_DTYPE_BYTES, KV_DTYPES, blockElements, type BlockHash, type KvComponent, type KvDtype, type KvDtypes, type KvModelShape, type KvTier } from "../kv-types.js";
import { KvCacheConfigError, KvCacheInvariantError } from "./errors.js";
import { SlotAllocator } from "./slot-allocator.js";
import { HostArenaStorage, type TierStorage } from "./tier-storage.js";

/** Where one half of a block lives. */
export interface Residency {
  tier: KvTier;
  slot: number;
}

interface Block {
  readonly id: number;
  refCount: number;
  hash: BlockHash | null;
  /** The cache salt of the request that registered the hash ("" = the default tenant); null when unhashed. */
  tenant: string | null;
  parentHash: BlockHash | null;
  k: Residency | null;
  v: Residency | null;
}

/** Byte budgets per (component, tier); a tier of 0 bytes does not exist. */
export type PoolBytes = Record<KvComponent, Record<KvTier, number>>;

export interface BlockPoolOptions {
  shape: KvModelShape;
  blockSizeTokens: number;
  bytes: PoolBytes;
  /** Receives every residency change of a hashed block. */
  onEvent?: (event: KvEventBody) => void;
  /**
   * The element type of each component's pools (both tiers of a component share it); default
   * DEFAULT_KV_DTYPES, f32 for both (the oracle). A 16-bit dtype halves the bytes of a block, so the same
   * byte budget holds twice the blocks.
   */
  dtype?: Partial<KvDtypes>;
  /** Storage per (component, tier), in `dtype`; default: host-memory arenas. */
  createStorage?: (component: KvComponent, tier: KvTier, numSlots: number, slotFloats: number, dtype: KvDtype) => TierStorage;
  /**
   * Called when a device slot of `component` is needed and no cached block can
   * give one up; returns a used block whose half may leave the device (the
   * selective-V policy), or null. The pool then demotes that half.
   */
  pickUsedVictim?: (component: KvComponent) => number | null;
  /**
   * Most cached (unreferenced) blocks one tenant may hold before its own are
   * the first to go when room is needed, as a fraction of numBlocks, in (0, 1].
   * Default DEFAULT_MAX_CACHED_FRACTION_PER_TENANT: 1, off (plain LRU).
   */
  maxCachedFractionPerTenant?: number;
}

/** The tenant cap is off by default: the plain LRU decides. */
export const DEFAULT_MAX_CACHED_FRACTION_PER_TENANT = 1;

/** The pools' dtypes unless told otherwise: f32, the oracle the 16-bit dtypes are measured against. */
export const DEFAULT_KV_DTYPES: KvDtypes = { k: "f32", v: "f32" };

export class BlockPool {
  readonly numBlocks: number;
  readonly blockSizeTokens: number;
  readonly shape: KvModelShape;
  /** Bytes of one block of each component, at its stored dtype's width. */
  readonly blockBytes: Record<KvComponent, number>;
  /** The element type each component is stored in, on every tier. */
  readonly dtype: KvDtypes;
  /** Imported halves converted from the frame's dtype to this pool's (see BlockImportSession), per component. */
  readonly importDtypeConversions: Record<KvComponent, number> = { k: 0, v: 0 };
  /** Bytes copied between tiers, per component and direction. */
  readonly bytesMoved: Record<KvComponent, { demoted: number; promoted: number }> = {
    k: { demoted: 0, promoted: 0 },
    v: { demoted: 0, promoted: 0 },
  };

  private readonly blocks: Block[];
  private readonly freeIds: SlotAllocator;
  /** Cached blocks with refCount 0, least recently used first (Set keeps insertion order). */
  private readonly cachedFree = new Set<number>();
  private readonly byHash = new Map<BlockHash, number>();
  /** Cached free blocks per tenant (only tenants with at least one). */
  private readonly cachedPerTenant = new Map<string, number>();
  /** Cached blocks a tenant may hold before its own go first; Infinity when the cap is off. */
  readonly maxCachedBlocksPerTenant: number;
  /** Cached blocks demoted or dropped because their tenant was at its cap (not because they were the LRU). */
  tenantCapEvictions = 0;
  private readonly storage: Record<KvComponent, Partial<Record<KvTier, TierStorage>>> = { k: {}, v: {} };
  private readonly slots: Record<KvComponent, Partial<Record<KvTier, SlotAllocator>>> = { k: {}, v: {} };
  private readonly onEvent: (event: KvEventBody) => void;
  private readonly pickUsedVictim: (component: KvComponent) => number | null;

  constructor(options: BlockPoolOptions) {
    const { shape, blockSizeTokens, bytes } = options;
    if (!Number.isInteger(blockSizeTokens) || blockSizeTokens <= 0) throw new KvCacheConfigError("blockSizeTokens", `must be a positive integer, got ${blockSizeTokens}`);
    this.shape = shape;
    this.blockSizeTokens = blockSizeTokens;
    this.onEvent = options.onEvent ?? (() => {});
    this.pickUsedVictim = options.pickUsedVictim ?? (() => null);
    const dtype = { ...DEFAULT_KV_DTYPES, ...options.dtype };
    for (const component of KV_COMPONENTS) {
      if (!KV_DTYPES.includes(dtype[component])) throw new KvCacheConfigError(`dtype.${component}`, `must be one of ${KV_DTYPES.join(", ")}, got ${String(dtype[component])}`);
    }
    this.dtype = Object.freeze(dtype);
    const createStorage = options.createStorage ?? ((c, t, n, f, d) => new HostArenaStorage(c, t, n, f, d));
    const slotsPerComponent: Record<KvComponent, number> = { k: 0, v: 0 };
    this.blockBytes = { k: 0, v: 0 };
    for (const component of KV_COMPONENTS) {
      const floats = blockElements(shape, component, blockSizeTokens);
      this.blockBytes[component] = floats * KV_DTYPE_BYTES[dtype[component]];
      for (const tier of ["device", "host"] as const) {
        const budget = bytes[component][tier];
        if (!Number.isFinite(budget) || budget < 0) throw new KvCacheConfigError(`bytes.${component}.${tier}`, `must be a non-negative number, got ${budget}`);
        const numSlots = Math.floor(budget / this.blockBytes[component]);
        if (numSlots === 0) continue;
        const storage = createStorage(component, tier, numSlots, floats, dtype[component]);
        if ((storage.dtype ?? "f32") !== dtype[component]) throw new KvCacheConfigError(`createStorage(${component}, ${tier})`, `must store ${dtype[component]}, got ${storage.dtype ?? "f32"}`);
        this.storage[component][tier] = storage;
        this.slots[component][tier] = new SlotAllocator(numSlots);
        slotsPerComponent[component] += numSlots;
      }
      if ((this.slots[component].device?.numSlots ?? 0) === 0) {
        throw new KvCacheConfigError(`bytes.${component}.device`, `must hold at least one block of ${this.blockBytes[component]} bytes, got ${bytes[component].device}`);
      }
    }
    // A live block holds one K slot and one V slot, so this many ids can ever be live.
    this.numBlocks = Math.min(slotsPerComponent.k, slotsPerComponent.v);
    this.blocks = Array.from({ length: this.numBlocks }, (_, id) => ({ id, refCount: 0, hash: null, tenant: null, parentHash: null, k: null, v: null }));
    const fraction = options.maxCachedFractionPerTenant ?? DEFAULT_MAX_CACHED_FRACTION_PER_TENANT;
    if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) throw new KvCacheConfigError("maxCachedFractionPerTenant", `must be in (0, 1], got ${fraction}`);
    this.maxCachedBlocksPerTenant = fraction === 1 ? Infinity : Math.max(1, Math.floor(fraction * this.numBlocks));
    this.freeIds = new SlotAllocator(this.numBlocks);
  }

  // ---- queries ------------------------------------------------------------

  refCount(blockId: number): number {
    return this.block(blockId).refCount;
  }

  hashOf(blockId: number): BlockHash | null {
    return this.block(blockId).hash;
  }

  /** The parent hash a hashed block was registered with (null for a chain root or an unhashed block). */
  parentOf(blockId: number): BlockHash | null {
    return this.block(blockId).parentHash;
  }

  residency(blockId: number, component: KvComponent): Residency | null {
    const found = this.block(blockId)[component];
    return found === null ? null : { ...found };
  }

  /** The cached block holding `hash`, if any. */
  lookup(hash: BlockHash): number | undefined {
    return this.byHash.get(hash);
  }

  /** Slots of a (component, tier) pool; 0 when the tier does not exist. */
  capacity(component: KvComponent, tier: KvTier): number {
    return this.slots[component][tier]?.numSlots ?? 0;
  }

  freeSlots(component: KvComponent, tier: KvTier): number {
    return this.slots[component][tier]?.freeCount ?? 0;
  }

  /** Cached free block ids, least recently used first. */
  cachedFreeBlocks(): number[] {
    return [...this.cachedFree];
  }

  /** Cached free blocks of one tenant (its cache salt; "" = the default tenant). */
  cachedBlocksOf(tenant: string): number {
    return this.cachedPerTenant.get(tenant) ?? 0;
  }

  storageOf(component: KvComponent, tier: KvTier): TierStorage | undefined {
    return this.storage[component][tier];
  }

  /** Usage of every pool that exists: slots used by requests, held by cached free blocks, and in total. */
  usage(): { component: KvComponent; tier: KvTier; usedBlocks: number; cachedFreeBlocks: number; totalBlocks: number }[] {
    const rows: { component: KvComponent; tier: KvTier; usedBlocks: number; cachedFreeBlocks: number; totalBlocks: number }[] = [];
    for (const component of KV_COMPONENTS) {
      for (const tier of ["device", "host"] as const) {
        const allocator = this.slots[component][tier];
        if (allocator === undefined) continue;
        let used = 0;
        let cached = 0;
        for (const block of this.blocks) {
          if (block[component]?.tier !== tier) continue;
          if (block.refCount > 0) used++;
          else cached++;
        }
        rows.push({ component, tier, usedBlocks: used, cachedFreeBlocks: cached, totalBlocks: allocator.numSlots });
      }
    }
    return rows;
  }

  /** Residency of every hashed block, for snapshots. */
  hashedResidency(): { component: KvComponent; tier: KvTier; blockHashes: BlockHash[] }[] {
    const groups = new Map<string, { component: KvComponent; tier: KvTier; blockHashes: BlockHash[] }>();
    for (const block of this.blocks) {
      if (block.hash === null) continue;
      for (const component of KV_COMPONENTS) {
        const where = block[component];
        if (where === null) continue;
        const key = `${component}/${where.tier}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = { component, tier: where.tier, blockHashes: [] }));
        group.blockHashes.push(block.hash);
      }
    }
    return [...groups.values()];
  }

  // ---- allocation -----------------------------------------------------------

  /**
   * A fresh block with both halves on the device and refCount 1, or null when
   * no room can be made. Makes room by demoting (V first) and dropping cached
   * blocks in LRU order; a failed attempt gives back what it took.
   */
  allocate(): number | null {
    let id = this.freeIds.take();
    if (id === null && this.dropLruCached()) id = this.freeIds.take();
    if (id === null) return null;
    const block = this.blocks[id]!;
    // NOTE: V first. It is the bigger half, so it runs out first, and its demotion is the cheap one for DiffQKV.
    const vSlot = this.takeSlot("v", "device", id);
    if (vSlot === null) {
      this.freeIds.release(id);
      return null;
    }
    block.v = { tier: "device", slot: vSlot };
    const kSlot = this.takeSlot("k", "device", id);
    if (kSlot === null) {
      this.slots.v.device!.release(vSlot);
      block.v = null;
      this.freeIds.release(id);
      return null;
    }
    block.k = { tier: "device", slot: kSlot };
    block.refCount = 1;
    return id;
  }

  /** Another reference to a block (a request reusing a cached prefix). */
  touch(blockId: number): void {
    const block = this.liveBlock(blockId);
    if (block.refCount === 0) this.uncache(block);
    block.refCount++;
  }

  /**
   * Drops one reference. At zero, a hashed block stays cached (most recently
   * used end of the LRU); an unhashed one is freed at once.
   */
  release(blockId: number): void {
    const block = this.liveBlock(blockId);
    if (block.refCount <= 0) throw new KvCacheInvariantError(`block ${blockId} released with refCount ${block.refCount}`);
    block.refCount--;
    if (block.refCount > 0) return;
    if (block.hash !== null) {
      this.cachedFree.add(blockId);
      this.cachedPerTenant.set(block.tenant!, this.cachedBlocksOf(block.tenant!) + 1);
    } else this.freeBlock(block);
  }

  /**
   * Registers a full block under its prefix hash and reports it stored.
   * Returns false when another block already holds the hash (two requests
   * computed the same block); this one then stays uncached. `tenant` is the
   * request's cache salt, which the tenant cap counts against ("" = default;
   * imported blocks, whose salt is not known, count as "").
   */
  registerHash(blockId: number, hash: BlockHash, parentHash: BlockHash | null, tenant = ""): boolean {
    const block = this.liveBlock(blockId);
    if (block.hash !== null) {
      if (block.hash === hash) return true;
      throw new KvCacheInvariantError(`block ${blockId} already has hash ${block.hash}, cannot take ${hash}`);
    }
    if (this.byHash.has(hash)) return false;
    block.hash = hash;
    block.tenant = tenant;
    block.parentHash = parentHash;
    this.byHash.set(hash, blockId);
    for (const component of KV_COMPONENTS) {
      this.onEvent({
        kind: "stored",
        component,
        tier: block[component]!.tier,
        blockHashes: [hash],
        ...(parentHash === null ? {} : { parentBlockHash: parentHash }),
      });
    }
    return true;
  }

  // ---- tiers ------------------------------------------------------------------

  /**
   * Moves one half of a block from the device to the host. Demoting K first
   * demotes V (V always leaves the device before K). Returns false when the
   * host has no room and none can be made.
   */
  demote(blockId: number, component: KvComponent): boolean {
    const block = this.liveBlock(blockId);
    if (component === "k" && block.v!.tier === "device" && !this.demote(blockId, "v")) return false;
    const from = block[component]!;
    if (from.tier === "host") return true;
    const hostSlot = this.takeSlot(component, "host", blockId);
    if (hostSlot === null) return false;
    this.moveHalf(block, component, { tier: "host", slot: hostSlot });
    this.bytesMoved[component].demoted += this.blockBytes[component];
    return true;
  }

  /** Moves one half of a block from the host to the device; false when no device room can be made. */
  promote(blockId: number, component: KvComponent): boolean {
    const block = this.liveBlock(blockId);
    if (block[component]!.tier === "device") return true;
    const deviceSlot = this.takeSlot(component, "device", blockId);
    if (deviceSlot === null) return false;
    this.moveHalf(block, component, { tier: "device", slot: deviceSlot });
    this.bytesMoved[component].promoted += this.blockBytes[component];
    return true;
  }

  /** Drops every cached block and reports `cleared`. Only legal when no request holds a block. */
  clear(): void {
    for (const block of this.blocks) {
      if (block.refCount > 0) throw new KvCacheInvariantError(`clear() while block ${block.id} has refCount ${block.refCount}`);
    }
    for (const id of [...this.cachedFree]) this.dropBlock(this.blocks[id]!, false);
    this.onEvent({ kind: "cleared" });
  }

  /**
   * Every broken invariant, as text (empty when sound). For tests and debug
   * endpoints: O(blocks + slots).
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const held: Record<string, Set<number>> = {};
    for (const block of this.blocks) {
      if (block.refCount < 0) problems.push(`block ${block.id}: negative refCount ${block.refCount}`);
      const live = block.k !== null || block.v !== null;
      if (live && (block.k === null || block.v === null)) problems.push(`block ${block.id}: one half resident, the other absent`);
      if (!live && (block.refCount !== 0 || block.hash !== null)) problems.push(`block ${block.id}: free but refCount ${block.refCount} / hash ${block.hash}`);
      if (this.cachedFree.has(block.id) && (block.refCount !== 0 || block.hash === null || !live)) problems.push(`block ${block.id}: in the cached LRU but refCount ${block.refCount}, hash ${block.hash}`);
      if (live && block.refCount === 0 && !this.cachedFree.has(block.id)) problems.push(`block ${block.id}: live with refCount 0 but not cached`);
      for (const component of KV_COMPONENTS) {
        const where = block[component];
        if (where === null) continue;
        const key = `${component}/${where.tier}`;
        const set = (held[key] ??= new Set());
        if (set.has(where.slot)) problems.push(`${key} slot ${where.slot} held twice`);
        set.add(where.slot);
      }
    }
    for (const component of KV_COMPONENTS) {
      for (const tier of ["device", "host"] as const) {
        const allocator = this.slots[component][tier];
        if (allocator === undefined) continue;
        const used = held[`${component}/${tier}`]?.size ?? 0;
        if (used + allocator.freeCount !== allocator.numSlots) problems.push(`${component}/${tier}: ${used} held + ${allocator.freeCount} free != ${allocator.numSlots}`);
      }
    }
    for (const [hash, id] of this.byHash) {
      const block = this.blocks[id]!;
      if (block.hash !== hash || block.k === null || block.v === null) problems.push(`hash ${hash} points at block ${id}, which does not reside with it`);
    }
    const perTenant = new Map<string, number>();
    for (const id of this.cachedFree) perTenant.set(this.blocks[id]!.tenant!, (perTenant.get(this.blocks[id]!.tenant!) ?? 0) + 1);
    if (JSON.stringify([...perTenant].sort()) !== JSON.stringify([...this.cachedPerTenant].sort())) problems.push(`cached blocks per tenant ${JSON.stringify([...this.cachedPerTenant])} != ${JSON.stringify([...perTenant])} in the LRU`);
    const liveIds = this.blocks.filter((block) => block.k !== null).length;
    if (liveIds + this.freeIds.freeCount !== this.numBlocks) problems.push(`${liveIds} live ids + ${this.freeIds.freeCount} free ids != ${this.numBlocks}`);
    return problems;
  }

  // ---- internals --------------------------------------------------------------

  private block(blockId: number): Block {
    const block = this.blocks[blockId];
    if (block === undefined) throw new KvCacheInvariantError(`block id ${blockId} outside [0, ${this.numBlocks})`);
    return block;
  }

  private liveBlock(blockId: number): Block {
    const block = this.block(blockId);
    if (block.k === null || block.v === null) throw new KvCacheInvariantError(`block ${blockId} is not allocated`);
    return block;
  }

  private moveHalf(block: Block, component: KvComponent, to: Residency): void {
    const from = block[component]!;
    this.storage[component][from.tier]!.copySlotTo(from.slot, this.storage[component][to.tier]!, to.slot);
    this.slots[component][from.tier]!.release(from.slot);
    block[component] = to;
    if (block.hash !== null) this.onEvent({ kind: "moved", component, fromTier: from.tier, toTier: to.tier, blockHashes: [block.hash] });
  }

  /**
   * A free slot of (component, tier), making room if needed: on the device by
   * demoting (or, with no host room, dropping) the LRU cached block that has
   * this half there, then by asking the used-block policy; on the host by
   * dropping the LRU cached block that has this half there. `exclude` is the
   * block the slot is for, which must not be evicted to make its own room.
   */
  private takeSlot(component: KvComponent, tier: KvTier, exclude: number): number | null {
    const allocator = this.slots[component][tier];
    if (allocator === undefined) return null;
    for (;;) {
      const slot = allocator.take();
      if (slot !== null) return slot;
      const victim = this.lruCachedWith(component, tier, exclude);
      if (victim !== undefined) {
        if (tier === "device" && this.demote(victim.id, component)) continue;
        this.dropBlock(victim, true);
        continue;
      }
      if (tier === "device") {
        const used = this.pickUsedVictim(component);
        if (used !== null && used !== exclude && this.demote(used, component)) continue;
      }
      return null;
    }
  }

  private lruCachedWith(component: KvComponent, tier: KvTier, exclude: number): Block | undefined {
    return this.victim((block) => block.id !== exclude && block[component]?.tier === tier);
  }

  /** Drops the victim among all cached blocks (see victim()), freeing its id and both slots. */
  private dropLruCached(): boolean {
    const block = this.victim(() => true);
    if (block === undefined) return false;
    this.dropBlock(block, true);
    return true;
  }

  /**
   * The cached block to give up room, among those `eligible`: the LRU one of a
   * tenant at or over its cap when there is one, else the LRU one.
   */
  private victim(eligible: (block: Block) => boolean): Block | undefined {
    // NOTE: while no tenant is at its cap (always, with the cap off) the first eligible block is the answer, as
    // the plain LRU always had it: the per-tenant counts settle that without walking the whole LRU.
    const anyAtCap = this.maxCachedBlocksPerTenant !== Infinity && [...this.cachedPerTenant.values()].some((n) => n >= this.maxCachedBlocksPerTenant);
    let lru: Block | undefined;
    for (const id of this.cachedFree) {
      const block = this.blocks[id]!;
      if (!eligible(block)) continue;
      if (!anyAtCap) return block;
      if (this.cachedBlocksOf(block.tenant!) >= this.maxCachedBlocksPerTenant) {
        if (lru !== undefined) this.tenantCapEvictions++;
        return block;
      }
      lru ??= block;
    }
    return lru;
  }

  private uncache(block: Block): void {
    if (!this.cachedFree.delete(block.id)) return;
    const left = this.cachedBlocksOf(block.tenant!) - 1;
    if (left > 0) this.cachedPerTenant.set(block.tenant!, left);
    else this.cachedPerTenant.delete(block.tenant!);
  }

  private dropBlock(block: Block, report: boolean): void {
    if (block.refCount > 0) throw new KvCacheInvariantError(`dropping block ${block.id} with refCount ${block.refCount}`);
    this.uncache(block);
    if (block.hash !== null) {
      if (report) {
        for (const component of KV_COMPONENTS) {
          this.onEvent({ kind: "removed", component, tier: block[component]!.tier, blockHashes: [block.hash] });
        }
      }
      this.byHash.delete(block.hash);
    }
    this.freeBlock(block);
  }

  private freeBlock(block: Block): void {
    for (const component of KV_COMPONENTS) {
      const where = block[component];
      if (where !== null) this.slots[component][where.tier]!.release(where.slot);
      block[component] = null;
    }
    block.hash = null;
    block.tenant = null;
    block.parentHash = null;
    block.refCount = 0;
    this.freeIds.release(block.id);
  }
}
