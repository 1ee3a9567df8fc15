/**
 * The shared remote tier of KV blocks (--remote-tier): hot prefix chains
 * written to the bus's object store (a JetStream object store on NATS), one
 * object per (block, component), each a checksummed KV frame named
 * `<hash>.k` / `<hash>.v` with its parent hash in the metadata. A worker that
 * starts warms its cache from it, so a prefix cached by a worker that is gone
 * is a hit on the new one's first request. The store is bounded (max bytes,
 * TTL); an object that fails its checksum is refused like a migrated frame,
 * counted and logged, and the block is computed instead.
 */
import type { CoordBus, KvObjectStore } from "@sigmaserve/coord";
import { KvTransferError, formatBlockHash, type BlockHash, type KvCacheManager, type KvImportSession } from "@sigmaserve/kvcache";
import type { Logger } from "pino";

export interface RemoteTierOptions {
  maxBytes: number;
  ttlMs: number;
  /** Most distinct blocks one publication writes (the hottest chains first). */
  maxHotBlocks: number;
  /** Fewest blocks a prompt must lack here before the store is asked for them (each ask is a round trip). */
  fetchMinBlocks: number;
}

export interface RemoteTierStats {
  blocksPublished: number;
  blocksWarmed: number;
  blocksFetched: number;
  blocksRefused: number;
}

/** A block's object name stem: its hash in 16 hex digits (`<stem>.k`, `<stem>.v`). */
const objectId = (hash: BlockHash) => formatBlockHash(hash).slice(2);

interface Halves {
  k: Uint8Array;
  v: Uint8Array;
}

/** The bucket of a model and block size: blocks of other shapes never share one. */
export function remoteTierBucket(modelId: string, blockSizeTokens: number): string {
  return `sigmaserve-kv-${modelId.replace(/[^A-Za-z0-9_-]/g, "_")}-b${blockSizeTokens}`;
}

export class RemoteTier {
  readonly stats: RemoteTierStats = { blocksPublished: 0, blocksWarmed: 0, blocksFetched: 0, blocksRefused: 0 };
  /** Blocks this worker has written (or found there), so a publication writes only new ones. */
  private readonly inStore = new Set<BlockHash>();

  private constructor(
    private readonly store: KvObjectStore,
    private readonly kv: Pick<KvCacheManager, "hotChains" | "exportFrames" | "beginImport" | "holds">,
    private readonly options: RemoteTierOptions,
    private readonly logger: Logger,
  ) {}

  static async open(bus: Pick<CoordBus, "openObjectStore">, deps: { modelId: string; blockSizeTokens: number; kv: RemoteTier["kv"]; logger: Logger }, options: RemoteTierOptions): Promise<RemoteTier> {
    const store = await bus.openObjectStore({ bucket: remoteTierBucket(deps.modelId, deps.blockSizeTokens), maxBytes: options.maxBytes, ttlMs: options.ttlMs });
    return new RemoteTier(store, deps.kv, options, deps.logger.child({ component: "remote-tier" }));
  }

  /** Writes the hottest cached chains' blocks that are not in the store yet; returns how many blocks it wrote. */
  async publishHot(): Promise<number> {
    const chains = this.kv.hotChains(this.options.maxHotBlocks);
    const fresh = [...new Set(chains.flat())].filter((hash) => !this.inStore.has(hash));
    if (fresh.length === 0) return 0;
    // One block per frame (a 1-byte limit): each object is one block of one component.
    // In the stored dtype (raw pool bits): a worker with another --kv-dtype that imports them converts.
    const plan = this.kv.exportFrames(fresh, { maxFrameBytes: 1 });
    let written = 0;
    try {
      const frames = [...plan.frames()];
      for (const frame of frames) {
        const hash = frame.hashes[0]!;
        const parent = plan.parents.get(hash) ?? null;
        await this.store.put(`${objectId(hash)}.${frame.component}`, frame.bytes, { parent: parent === null ? "" : objectId(parent) });
        if (frame.component === "v") {
          this.inStore.add(hash);
          written++;
        }
      }
    } finally {
      plan.close();
    }
    this.stats.blocksPublished += written;
    this.logger.info({ blocks: written }, "hot prefix blocks written to the remote tier");
    return written;
  }

  /**
   * Imports what the store holds, root first along each chain, until the
   * cache has no room left. Returns the blocks imported.
   */
  async warm(): Promise<number> {
    const parentOf = new Map<string, string>();
    for (const { name, metadata } of await this.store.list()) {
      const [id, component] = name.split(".");
      if (id !== undefined && (component === "k" || component === "v")) parentOf.set(id, metadata["parent"] ?? "");
    }
    // Roots first, then their children: a chain is importable only from its root.
    const children = new Map<string, string[]>();
    for (const [id, parent] of parentOf) children.set(parent, [...(children.get(parent) ?? []), id]);
    const order: string[] = [];
    for (const queue = [...(children.get("") ?? [])]; queue.length > 0; ) {
      const id = queue.shift()!;
      order.push(id);
      queue.push(...(children.get(id) ?? []));
    }
    let imported = 0;
    /** Blocks not imported: their descendants could never be matched from the root either. */
    const missing = new Set<string>();
    const session = this.kv.beginImport({ parents: new Map([...parentOf].map(([id, parent]) => [BigInt(`0x${id}`), parent === "" ? null : BigInt(`0x${parent}`)])) });
    try {
      for (const id of order) {
        if (missing.has(parentOf.get(id)!)) {
          missing.add(id);
          continue;
        }
        const halves = await this.fetchHalves(id);
        const block = halves === null ? { imported: 0, landed: false, full: false } : this.acceptBlock(session, id, halves);
        imported += block.imported;
        this.inStore.add(BigInt(`0x${id}`));
        if (!block.landed) missing.add(id);
        if (block.full) break;
      }
    } finally {
      session.finish();
    }
    this.stats.blocksWarmed += imported;
    this.logger.info({ blocks: imported, inStore: parentOf.size, refused: this.stats.blocksRefused }, "warmed the cache from the remote tier");
    return imported;
  }

  /**
   * A prompt's chain (block hashes, root first) that this worker lacks from
   * some block on: fetches the missing blocks from the store, in order, until
   * one is not there (or is refused, or there is no room). Only when at least
   * `fetchMinBlocks` are missing. Returns the blocks imported; a store that
   * cannot be reached only costs the attempt (logged).
   */
  async fetchMissing(chain: readonly BlockHash[]): Promise<number> {
    const first = chain.findIndex((hash) => !this.kv.holds(hash));
    if (first < 0 || chain.length - first < this.options.fetchMinBlocks) return 0;
    const session = this.kv.beginImport({ parents: new Map(chain.map((hash, i) => [hash, i === 0 ? null : chain[i - 1]!])) });
    let imported = 0;
    try {
      for (const hash of chain.slice(first)) {
        const id = objectId(hash);
        let halves: Halves | null;
        try {
          halves = await this.fetchHalves(id);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, "remote tier unreachable; the prompt is computed");
          break;
        }
        if (halves === null) break;
        const block = this.acceptBlock(session, id, halves);
        imported += block.imported;
        if (!block.landed || block.full) break;
      }
    } finally {
      session.finish();
    }
    this.stats.blocksFetched += imported;
    if (imported > 0) this.logger.debug({ blocks: imported }, "fetched a missing prefix from the remote tier");
    return imported;
  }

  /** Both halves of a block from the store, or null when either is not there. */
  private async fetchHalves(id: string): Promise<Halves | null> {
    const [k, v] = await Promise.all([this.store.get(`${id}.k`), this.store.get(`${id}.v`)]);
    return k === null || v === null ? null : { k, v };
  }

  /** Imports one block's halves, K first; a half that fails its checks is refused (counted, logged). */
  private acceptBlock(session: KvImportSession, id: string, halves: Halves): { imported: number; landed: boolean; full: boolean } {
    let imported = 0;
    let landed = 0;
    let full = false;
    for (const component of ["k", "v"] as const) {
      try {
        const result = session.acceptFrame(halves[component], component);
        imported += result.imported.length;
        landed += result.imported.length + result.present.length;
        for (const refused of result.refused) this.refuse(id, refused.reason);
        if (result.noRoom.length > 0) full = true;
      } catch (err) {
        if (!(err instanceof KvTransferError)) throw err;
        this.refuse(id, err.message);
      }
    }
    return { imported, landed: landed > 0, full };
  }

  private refuse(id: string, reason: string): void {
    this.stats.blocksRefused++;
    this.logger.warn({ block: `0x${id}`, reason }, "remote-tier block refused; it will be computed");
  }
}
