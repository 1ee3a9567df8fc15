/**
 * The KV-cache manager: each request's block table, and the scheduler's only
 * door to the cache (vLLM's kv_cache_manager). The scheduler never touches a
 * block; it asks for slots, commits computed tokens and frees requests.
 *
 * Model. A request's computed tokens catch up with its known tokens; there is
 * no separate prefill mode. `allocate` admits a request: it reuses the longest
 * cached prefix of the prompt (whole blocks, taken by reference, promoted back
 * to the device where needed) and reserves blocks for the next chunk.
 * `appendSlots` reserves more as the request grows. `commitTokens` records
 * tokens whose K and V are written, and registers each block that becomes full
 * under its prefix hash so that later prompts can reuse it. `free` drops the
 * request's references in reverse order, so a prefix's tail is evicted before
 * its head. Every "no room" is a null with nothing changed for the request.
 *
 * Modes. "full": both halves of every block a running request uses stay on
 * the device. "selective-v": only K must stay on the device; V of blocks older
 * than the last `recentWindowBlocks` of every request using them may be
 * demoted to host to make room, and the attention kernel reads the V rows it
 * chooses in place, from the device or the host arena (see `attentionView`).
 *
 * One door. The block pool is private: the model runner reads K and V through
 * `attentionView()` and writes them through `writeTokenKv`; migration moves
 * blocks through `exportBlocks` / `importBlocks`. Nothing outside this package
 * can reach a slot, a residency or the prefix map except through here.
 */
import { buildSnapshot } from "../events/build-snapshot.js";
import type { KvSnapshot } from "../events/kv-event.js";
import type { KvEventLog } from "../events/kv-event-log.js";
import { PrefixHasher, prefixBlockHashes } from "../hash/index.js";
import { KV_COMPONENTS, KV_DTYPE_BYTES, type BlockHash, type KvComponent, type KvDtypes, type KvTier } from "../kv-types.js";
import { BlockPool, type BlockPoolOptions } from "../pool/block-pool.js";
import { exportBlockFrames, type KvExportOptions, type KvFrameExport } from "../pool/block-export.js";
import { BlockImportSession, type KvImportSessionOptions } from "../pool/block-import-session.js";
import { leaseCachedBlocks, type KvBlockLease } from "../pool/block-lease.js";
import { hotChains } from "../pool/hot-chains.js";
import { exportCachedBlocks, importCachedBlocks, type KvBlockExport, type KvBlockImport } from "../pool/block-transfer.js";
import { KvCacheConfigError, KvCacheInvariantError } from "../pool/errors.js";
import type { KvWireDtype } from "../transfer/kv-frame-layout.js";
import { createKvAttentionView, type KvAttentionView } from "./kv-attention-view.js";

export type KvCacheMode = "full" | "selective-v";

/** Default number of most recent blocks per request whose V stays on the device in selective-V mode. */
export const DEFAULT_RECENT_WINDOW_BLOCKS = 4;

export interface KvCacheManagerOptions extends Omit<BlockPoolOptions, "pickUsedVictim"> {
  /** Model id, mixed into every block hash. */
  modelId: string;
  /** Root of every hash chain (the KvHashSpec seed). */
  hashSeed?: bigint;
  mode?: KvCacheMode;
  recentWindowBlocks?: number;
  /** The worker's event log: every pool event is appended to it, and snapshots are taken as of its last seq. */
  eventLog?: KvEventLog;
}

interface RequestState {
  readonly id: string;
  readonly cacheSalt: string;
  readonly blockIds: number[];
  /** Tokens whose K and V are written (cached prefix included). */
  numComputedTokens: number;
  /** Prompt tokens served from the prefix cache at admission. */
  readonly numCachedTokens: number;
  /** Hashes of the request's full blocks, so far. */
  readonly hashes: BlockHash[];
  readonly hasher: PrefixHasher;
  /** Blocks whose hash is registered (or found taken). */
  numRegisteredBlocks: number;
}

export interface Admission {
  blockIds: readonly number[];
  /** Prompt tokens whose K and V came from the cache; computing starts here. */
  numCachedTokens: number;
}

export class KvCacheManager {
  readonly mode: KvCacheMode;
  readonly recentWindowBlocks: number;
  readonly blockSizeTokens: number;
  /** Bytes of one block of each component, at its stored dtype's width. */
  readonly blockBytes: Readonly<Record<KvComponent, number>>;
  /** The element type each component is stored in (both tiers); writes round f32 into it, reads widen back. */
  readonly dtype: KvDtypes;
  /** Bytes of V rows read through readVRows, per tier (the attention kernel counts its own reads). */
  readonly vBytesRead: Record<KvTier, number> = { device: 0, host: 0 };

  /** Private: the single door. Tests inside this package reach it through `testing/pool-of.ts`. */
  private readonly pool: BlockPool;
  /** Built on first use (it needs storage that exposes arenas); the arenas never move. */
  private view: KvAttentionView | null = null;

  private readonly requests = new Map<string, RequestState>();
  /** The table being built by an allocate/appendSlots call in progress, so the selective-V policy can see it. */
  private pendingTable: number[] | null = null;
  /** The request whose table `pendingTable` extends (it replaces that request's table meanwhile). */
  private pendingFor: string | null = null;
  /** Blocks at the head of `pendingTable` whose K and V are all written (the rest are reserved for rows to come). */
  private pendingWrittenBlocks = 0;
  private readonly modelId: string;
  private readonly hashSeed: bigint | undefined;
  private readonly vRowBytes: number;
  private readonly eventLog: KvEventLog | undefined;

  constructor(options: KvCacheManagerOptions) {
    this.mode = options.mode ?? "full";
    this.recentWindowBlocks = options.recentWindowBlocks ?? DEFAULT_RECENT_WINDOW_BLOCKS;
    if (!Number.isInteger(this.recentWindowBlocks) || this.recentWindowBlocks < 1) {
      throw new KvCacheConfigError("recentWindowBlocks", `must be a positive integer, got ${this.recentWindowBlocks}`);
    }
    this.modelId = options.modelId;
    this.hashSeed = options.hashSeed;
    this.blockSizeTokens = options.blockSizeTokens;
    const eventLog = options.eventLog;
    this.eventLog = eventLog;
    const onEvent = options.onEvent;
    this.pool = new BlockPool({
      ...options,
      onEvent: (event) => {
        eventLog?.append(event);
        onEvent?.(event);
      },
      pickUsedVictim: (component) => this.pickUsedVictim(component),
    });
    this.dtype = this.pool.dtype;
    this.vRowBytes = options.shape.head_dim * KV_DTYPE_BYTES[this.dtype.v];
    this.blockBytes = this.pool.blockBytes;
  }

  // ---- queries --------------------------------------------------------------

  has(requestId: string): boolean {
    return this.requests.has(requestId);
  }

  blockTable(requestId: string): readonly number[] {
    return this.request(requestId).blockIds;
  }

  numComputedTokens(requestId: string): number {
    return this.request(requestId).numComputedTokens;
  }

  /** Token slots reserved for the request (whole blocks). */
  numSlotTokens(requestId: string): number {
    return this.request(requestId).blockIds.length * this.blockSizeTokens;
  }

  /** Hashes of a prompt's full blocks, as the router computes them. */
  promptBlockHashes(promptTokens: ArrayLike<number>, cacheSalt = ""): BlockHash[] {
    return prefixBlockHashes(promptTokens, { blockSizeTokens: this.blockSizeTokens, modelId: this.modelId, cacheSalt, ...(this.hashSeed === undefined ? {} : { seed: this.hashSeed }) });
  }

  /**
   * The cached blocks a prompt could reuse: the longest run of its full blocks
   * found in the cache, never the whole prompt (the last token must be
   * computed to produce logits). Takes no references.
   */
  findCachedPrefix(promptTokens: ArrayLike<number>, cacheSalt = ""): { blockIds: number[]; hashes: BlockHash[] } {
    const hashes = this.promptBlockHashes(promptTokens, cacheSalt);
    const maxBlocks = Math.floor((promptTokens.length - 1) / this.blockSizeTokens);
    const blockIds: number[] = [];
    for (const hash of hashes.slice(0, Math.max(0, maxBlocks))) {
      const id = this.pool.lookup(hash);
      if (id === undefined) break;
      blockIds.push(id);
    }
    return { blockIds, hashes: hashes.slice(0, blockIds.length) };
  }

  /** Whether a block of this hash is cached here (on any tier). */
  holds(hash: BlockHash): boolean {
    return this.pool.lookup(hash) !== undefined;
  }

  usage(): ReturnType<BlockPool["usage"]> {
    return this.pool.usage();
  }

  /** Cached blocks that gave up their room because their tenant was at its cap (BlockPool's tenant cap), since start. */
  get tenantCapEvictions(): number {
    return this.pool.tenantCapEvictions;
  }

  /**
   * Imported blocks whose half arrived in another dtype than this pool stores and was converted (f32 ↔ bf16 ↔
   * f16, rounded once to nearest even when narrowing), per component, since start. 0 when peers share the dtype.
   */
  get importDtypeConversions(): Readonly<Record<KvComponent, number>> {
    return this.pool.importDtypeConversions;
  }

  /** Bytes copied between tiers since start, per component and direction (demoted: device → host). */
  get bytesMoved(): Readonly<Record<KvComponent, Readonly<{ demoted: number; promoted: number }>>> {
    return this.pool.bytesMoved;
  }

  /** Every broken invariant of the pool, as text (empty when sound). For tests, benches and debug endpoints: O(blocks + slots). */
  checkInvariants(): string[] {
    return this.pool.checkInvariants();
  }

  /**
   * The complete residency of every cached block, exact as of the event log's
   * last seq: what a consumer that found a gap applies before later events.
   */
  snapshot(): KvSnapshot {
    if (this.eventLog === undefined) throw new KvCacheInvariantError("snapshot() needs the manager to be built with an eventLog");
    const entries = this.pool.hashedResidency().flatMap((group) => group.blockHashes.map((blockHash) => ({ component: group.component, tier: group.tier, blockHash })));
    return buildSnapshot(this.eventLog.workerId, this.eventLog.epoch, this.eventLog.lastSeq, entries);
  }

  // ---- the scheduler's door -----------------------------------------------------

  /**
   * Admits a request: takes its cached prefix and reserves blocks for
   * `numNewTokens` tokens after it (default: the rest of the prompt, at most
   * `maxNewTokens` when given: a step's token budget, applied after the cached
   * prefix is known so the prompt is hashed once). Returns
   * null, with nothing held, when there is no room.
   */
  allocate(requestId: string, request: { promptTokens: ArrayLike<number>; cacheSalt?: string; numNewTokens?: number; maxNewTokens?: number }): Admission | null {
    if (this.requests.has(requestId)) throw new KvCacheInvariantError(`request ${requestId} is already allocated`);
    const cacheSalt = request.cacheSalt ?? "";
    const prefix = this.findCachedPrefix(request.promptTokens, cacheSalt);
    const numCachedTokens = prefix.blockIds.length * this.blockSizeTokens;
    const numNewTokens = request.numNewTokens ?? Math.min(request.promptTokens.length - numCachedTokens, request.maxNewTokens ?? Infinity);
    if (!Number.isInteger(numNewTokens) || numNewTokens < 0) throw new KvCacheInvariantError(`numNewTokens must be a non-negative integer, got ${numNewTokens}`);

    // Take the prefix first, so making room for new blocks cannot evict it.
    for (const id of prefix.blockIds) this.pool.touch(id);
    if (!this.ensureResident(prefix.blockIds)) {
      this.releaseAll(prefix.blockIds);
      return null;
    }
    const needed = Math.ceil((numCachedTokens + numNewTokens) / this.blockSizeTokens) - prefix.blockIds.length;
    const fresh = this.allocateBlocks(needed, prefix.blockIds, null, prefix.blockIds.length);
    if (fresh === null) {
      this.releaseAll(prefix.blockIds);
      return null;
    }
    const hasher = new PrefixHasher({ blockSizeTokens: this.blockSizeTokens, modelId: this.modelId, cacheSalt, ...(this.hashSeed === undefined ? {} : { seed: this.hashSeed }) });
    // The cached prefix's tokens are known and their hashes match, so the hasher starts past them.
    hasher.append(Array.prototype.slice.call(request.promptTokens, 0, numCachedTokens) as number[]);
    this.requests.set(requestId, {
      id: requestId,
      cacheSalt,
      blockIds: [...prefix.blockIds, ...fresh],
      numComputedTokens: numCachedTokens,
      numCachedTokens,
      hashes: [...prefix.hashes],
      hasher,
      numRegisteredBlocks: prefix.blockIds.length,
    });
    return { blockIds: this.requests.get(requestId)!.blockIds, numCachedTokens };
  }

  /**
   * Reserves room for `numNewTokens` more tokens after those computed. Returns
   * the block table, or null (nothing changed) when there is no room.
   */
  appendSlots(requestId: string, numNewTokens: number): readonly number[] | null {
    const state = this.request(requestId);
    const needed = Math.ceil((state.numComputedTokens + numNewTokens) / this.blockSizeTokens) - state.blockIds.length;
    if (needed <= 0) return state.blockIds;
    const fresh = this.allocateBlocks(needed, state.blockIds, requestId, this.writtenBlocks(state));
    if (fresh === null) return null;
    state.blockIds.push(...fresh);
    return state.blockIds;
  }

  /**
   * Records that the K and V of `tokens` (the next tokens of the request, in
   * order) are written, and registers every block this fills.
   */
  commitTokens(requestId: string, tokens: ArrayLike<number>): void {
    const state = this.request(requestId);
    if (state.numComputedTokens + tokens.length > state.blockIds.length * this.blockSizeTokens) {
      throw new KvCacheInvariantError(`request ${requestId}: committing ${tokens.length} tokens past its ${state.blockIds.length} blocks`);
    }
    state.numComputedTokens += tokens.length;
    state.hashes.push(...state.hasher.append(Array.prototype.slice.call(tokens) as number[]));
    while (state.numRegisteredBlocks < state.hashes.length) {
      const index = state.numRegisteredBlocks;
      this.pool.registerHash(state.blockIds[index]!, state.hashes[index]!, index === 0 ? null : state.hashes[index - 1]!, state.cacheSalt);
      state.numRegisteredBlocks++;
    }
  }

  /** Frees a request's blocks at once (finish, cancel, preemption). Unknown ids are ignored. */
  free(requestId: string): void {
    const state = this.requests.get(requestId);
    if (state === undefined) return;
    this.requests.delete(requestId);
    this.releaseAll(state.blockIds);
  }

  // ---- reading and writing rows --------------------------------------------------

  /**
   * Writes one token's K row [n_k·d] and V row [n_v·d] for one layer, given in f32 and stored in each
   * component's dtype (rounded to nearest even for bf16 and f16). Both halves must be on the device.
   */
  writeTokenKv(requestId: string, position: number, layer: number, kRow: Float32Array, vRow: Float32Array): void {
    const state = this.request(requestId);
    const blockId = state.blockIds[Math.floor(position / this.blockSizeTokens)];
    if (blockId === undefined) throw new KvCacheInvariantError(`request ${requestId}: position ${position} has no slot`);
    const offset = position % this.blockSizeTokens;
    this.writeRow(blockId, "k", layer, offset, kRow);
    this.writeRow(blockId, "v", layer, offset, vRow);
  }

  /**
   * Reads the V rows of one (layer, V head) at the given token positions into
   * `out` ([positions.length, head_dim], f32: widened exactly from V's stored
   * dtype), from whichever tier each block's V is on, and counts the bytes
   * read per tier at the stored width.
   */
  readVRows(requestId: string, layer: number, vHead: number, positions: ArrayLike<number>, out: Float32Array): void {
    const state = this.request(requestId);
    const { head_dim: d, num_value_heads: nV } = this.pool.shape;
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i]!;
      const blockId = state.blockIds[Math.floor(position / this.blockSizeTokens)];
      if (blockId === undefined || position >= state.numComputedTokens) throw new KvCacheInvariantError(`request ${requestId}: position ${position} is not computed`);
      const where = this.pool.residency(blockId, "v")!;
      const offset = ((layer * nV + vHead) * this.blockSizeTokens + (position % this.blockSizeTokens)) * d;
      this.pool.storageOf("v", where.tier)!.read(where.slot, offset, d, out, i * d);
      this.vBytesRead[where.tier] += this.vRowBytes;
    }
  }

  /**
   * The arenas the attention kernel reads and, per request, where its blocks
   * live (see KvAttentionView for units and the residency contract). The same
   * object on every call.
   */
  attentionView(): KvAttentionView {
    this.view ??= createKvAttentionView(this.pool, (requestId) => this.request(requestId).blockIds);
    return this.view;
  }

  // ---- moving blocks between workers --------------------------------------------

  /**
   * Frames (one per component) of the cached blocks named by `hashes`, read
   * from whichever tier each half is on, in `wireDtype` (default: each
   * component as stored, its raw bits). Hashes not held are listed as
   * missing, never an error. The blocks are pinned while they are framed and
   * released in export order, so they end at the most recently used end of the LRU.
   */
  exportBlocks(hashes: readonly BlockHash[], wireDtype?: KvWireDtype): KvBlockExport {
    return exportCachedBlocks(this.pool, hashes, wireDtype);
  }

  /**
   * Imports a K frame and a V frame into fresh device slots. A block is
   * registered (and reported stored) only once both halves passed their
   * checksums; a refused block is freed unregistered and the caller recomputes
   * it. Imported blocks end cached with no reference, at the most recently
   * used end of the LRU, in frame order. `parents` gives each block's parent
   * hash (null for a chain root), reported in the stored events.
   */
  importBlocks(frames: Readonly<Record<KvComponent, Uint8Array>>, parents: ReadonlyMap<BlockHash, BlockHash | null>): KvBlockImport {
    return importCachedBlocks(this.pool, frames, parents);
  }

  /**
   * The cached blocks named by `hashes` as a sequence of frames, K first, each
   * at most `maxFrameBytes` (whole blocks). The blocks are pinned until the
   * frames are consumed or the export is closed (see block-export.ts).
   */
  exportFrames(hashes: readonly BlockHash[], options: KvExportOptions): KvFrameExport {
    return exportBlockFrames(this.pool, hashes, options);
  }

  /**
   * An import that takes frames one at a time as they arrive (see
   * block-import-session.ts): a block is registered once both of its halves
   * passed their checksums; finish() frees whatever is incomplete.
   */
  beginImport(options: KvImportSessionOptions): BlockImportSession {
    return new BlockImportSession(this.pool, options);
  }

  /**
   * The cached prefix chains, hottest first, root first, at most `maxBlocks`
   * distinct blocks (see hot-chains.ts): what a draining worker offers its peers.
   */
  hotChains(maxBlocks: number): BlockHash[][] {
    return hotChains(this.pool, maxBlocks);
  }

  /**
   * Pins the cached blocks named by `hashes` until the lease is released (a
   * migration offer stands meanwhile); with `chain`, only the longest held
   * prefix of the chain.
   */
  leaseBlocks(hashes: readonly BlockHash[], options: { chain?: boolean } = {}): KvBlockLease {
    return leaseCachedBlocks(this.pool, hashes, options);
  }

  // ---- internals --------------------------------------------------------------

  private request(requestId: string): RequestState {
    const state = this.requests.get(requestId);
    if (state === undefined) throw new KvCacheInvariantError(`unknown request ${requestId}`);
    return state;
  }

  private writeRow(blockId: number, component: KvComponent, layer: number, offset: number, row: Float32Array): void {
    const where = this.pool.residency(blockId, component)!;
    if (where.tier !== "device") throw new KvCacheInvariantError(`block ${blockId}: writing ${component} while it is on ${where.tier}`);
    const { head_dim: d } = this.pool.shape;
    const heads = component === "k" ? this.pool.shape.num_key_heads : this.pool.shape.num_value_heads;
    const storage = this.pool.storageOf(component, "device")!;
    for (let head = 0; head < heads; head++) {
      storage.write(where.slot, ((layer * heads + head) * this.blockSizeTokens + offset) * d, row.subarray(head * d, (head + 1) * d));
    }
  }

  /** Brings reused blocks back to the device: both halves in full mode, K only in selective-V mode. */
  private ensureResident(blockIds: readonly number[]): boolean {
    const components: KvComponent[] = this.mode === "full" ? [...KV_COMPONENTS] : ["k"];
    for (const id of blockIds) for (const component of components) if (!this.pool.promote(id, component)) return false;
    return true;
  }

  /** `count` fresh blocks to follow `table`, or null (none held) when there is no room. */
  private allocateBlocks(count: number, table: readonly number[], requestId: string | null, writtenBlocks: number): number[] | null {
    const fresh: number[] = [];
    this.pendingTable = [...table];
    this.pendingFor = requestId;
    this.pendingWrittenBlocks = writtenBlocks;
    try {
      for (let i = 0; i < count; i++) {
        const id = this.pool.allocate();
        if (id === null) {
          this.releaseAll(fresh);
          return null;
        }
        fresh.push(id);
        this.pendingTable.push(id);
      }
      return fresh;
    } finally {
      this.pendingTable = null;
      this.pendingFor = null;
      this.pendingWrittenBlocks = 0;
    }
  }

  /** Leading blocks of `state`'s table whose every row is written (a block partly written still takes rows). */
  private writtenBlocks(state: RequestState): number {
    return Math.floor(state.numComputedTokens / this.blockSizeTokens);
  }

  private releaseAll(blockIds: readonly number[]): void {
    for (let i = blockIds.length - 1; i >= 0; i--) this.pool.release(blockIds[i]!);
  }

  /**
   * Selective-V policy: a used block whose V may leave the device. Eligible
   * blocks are outside every using request's recent window; the oldest
   * position in the oldest request goes first. K never leaves the device for a
   * used block, and full mode never demotes a used block.
   */
  private pickUsedVictim(component: KvComponent): number | null {
    if (this.mode !== "selective-v" || component !== "v") return null;
    // NOTE: only blocks whose rows are all written may go: a block reserved for rows a step has yet to write (a
    // long prompt allocates all its blocks at admission) must keep its V on the device, where the rows are written.
    const tables: { blockIds: readonly number[]; written: number }[] = [...this.requests.values()]
      .filter((state) => state.id !== this.pendingFor)
      .map((state) => ({ blockIds: state.blockIds, written: this.writtenBlocks(state) }));
    if (this.pendingTable !== null) tables.push({ blockIds: this.pendingTable, written: this.pendingWrittenBlocks });
    const recent = new Set<number>();
    for (const table of tables) for (const id of table.blockIds.slice(-this.recentWindowBlocks)) recent.add(id);
    for (const table of tables) {
      for (let i = 0; i < table.written; i++) {
        const id = table.blockIds[i]!;
        if (!recent.has(id) && this.pool.residency(id, "v")!.tier === "device") return id;
      }
    }
    return null;
  }
}
