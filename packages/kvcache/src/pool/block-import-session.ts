/**
 * An import of blocks that arrive over time, one frame at a time, K frames
 * and V frames in any order (a migration sends K first). Each block is
 * allocated on the device when its first half arrives and registered under
 * its hash, cached, the moment its second half has passed its checksum too,
 * so a chain becomes usable as it lands and nothing is registered before
 * both of its checksums pass.
 *
 * Bad blocks never enter the cache: a block whose half fails its checksum,
 * or that the importer did not ask for (`expected`), is refused with a
 * reason, its allocation freed at once, and later halves of it are ignored.
 * A frame whose header or table is broken throws KvTransferError before
 * anything of it is written. `finish()` ends the session: blocks still
 * waiting for their other half are freed (refused: "arrived in only one of
 * the K and V frames"). After a failure half-way (the source died), finish()
 * leaves the pool as it was plus the blocks that completed, which are valid
 * cache: no slot stays pinned, nothing unverified stays.
 *
 * A frame may carry another dtype than this pool stores its component in (a
 * peer with other --kv-dtype flags, an f32 frame from an older worker): its
 * blocks are converted on the way into the slots (widening exact, narrowing
 * rounded to nearest even), and counted in the frame's `converted` and the
 * pool's `importDtypeConversions`.
 */
import { KV_COMPONENTS, type BlockHash, type KvComponent } from "../kv-types.js";
import { importFrameBlocks, type KvFrameImport } from "../transfer/decode-kv-frame-into.js";
import { formatBlockHash, kvFrameShape, type KvWireDtype } from "../transfer/kv-frame-layout.js";
import { readKvFrameHeader } from "../transfer/read-kv-frame-header.js";
import type { BlockPool } from "./block-pool.js";
import { KvCacheInvariantError } from "./errors.js";

export interface KvBlockImport {
  /** Blocks verified in both halves and registered. */
  imported: BlockHash[];
  /** Blocks already cached here (skipped). */
  present: BlockHash[];
  /** Blocks refused, with why; never stored. */
  refused: { hash: BlockHash; reason: string }[];
  /** Blocks that found no room (null allocation); the caller recomputes them. */
  noRoom: BlockHash[];
}

export interface KvImportSessionOptions {
  /** Each block's parent hash (null for a chain root), reported in its stored events. */
  parents: ReadonlyMap<BlockHash, BlockHash | null>;
  /** The only hashes this import takes (what the importer asked for); others are refused as not offered. Default: any. */
  expected?: ReadonlySet<BlockHash>;
}

/** What one frame did. */
export interface KvFrameAccepted extends KvBlockImport {
  component: KvComponent;
  /** The frame's dtype. */
  wireDtype: KvWireDtype;
  /** Blocks of `written` converted from the frame's dtype to the pool's (0 when they match). */
  converted: number;
  /** Blocks of this frame whose half was written (the other may still be due). */
  written: BlockHash[];
  /** Payload bytes of the frame's blocks that were written. */
  bytesWritten: number;
}

export class BlockImportSession {
  /** Blocks allocated by this session and waiting for their other half: hash → id. */
  private readonly pending = new Map<BlockHash, number>();
  private readonly halves = new Map<BlockHash, Set<KvComponent>>();
  private readonly refusedHashes = new Set<BlockHash>();
  private readonly total: KvBlockImport = { imported: [], present: [], refused: [], noRoom: [] };
  private finished = false;

  constructor(
    private readonly pool: BlockPool,
    private readonly options: KvImportSessionOptions,
  ) {}

  /** Blocks allocated and not yet complete (each holds a device slot of both components). */
  get pendingBlocks(): number {
    return this.pending.size;
  }

  /** Imports one frame. Throws KvTransferError (nothing written) when the frame itself is broken or not of this pool's shape. */
  acceptFrame(bytes: Uint8Array, expectedComponent?: KvComponent): KvFrameAccepted {
    if (this.finished) throw new KvCacheInvariantError("the import session has finished");
    const pool = this.pool;
    const { component } = readKvFrameHeader(bytes, expectedComponent === undefined ? {} : { component: expectedComponent });
    const header = readKvFrameHeader(bytes, { component, shape: kvFrameShape(pool.shape, component, pool.blockSizeTokens) });
    const declined = new Map<BlockHash, "present" | "no-room" | "refused" | "not-offered" | "duplicate">();
    const decoded = importFrameBlocks(bytes, header, (_, hash) => {
      if (this.refusedHashes.has(hash)) return declined.set(hash, "refused"), null;
      if (this.options.expected !== undefined && !this.options.expected.has(hash)) return declined.set(hash, "not-offered"), null;
      let id = this.pending.get(hash);
      if (id === undefined) {
        if (pool.lookup(hash) !== undefined) return declined.set(hash, "present"), null;
        const fresh = pool.allocate();
        if (fresh === null) return declined.set(hash, "no-room"), null;
        this.pending.set(hash, (id = fresh));
        this.halves.set(hash, new Set());
      } else if (this.halves.get(hash)!.has(component)) return declined.set(hash, "duplicate"), null;
      // Both halves of a fresh block are on the device (allocate()), and the session's reference keeps them there.
      return pool.storageOf(component, "device")!.view?.(pool.residency(id, component)!.slot) ?? null;
    }, pool.dtype[component]);
    pool.importDtypeConversions[component] += decoded.converted;
    return this.settle(decoded, header.payloadBytesPerBlock, declined);
  }

  /** Ends the session: incomplete blocks are freed and refused. Returns the totals. Idempotent. */
  finish(): KvBlockImport {
    if (!this.finished) {
      this.finished = true;
      for (const [hash, id] of this.pending) {
        this.pool.release(id);
        this.refusedHashes.add(hash);
        this.total.refused.push({ hash, reason: `block ${formatBlockHash(hash)} arrived in only one of the K and V frames` });
      }
      this.pending.clear();
    }
    return this.total;
  }

  private settle(decoded: KvFrameImport, bytesPerBlock: number, declined: Map<BlockHash, string>): KvFrameAccepted {
    const frame: KvFrameAccepted = { component: decoded.component, wireDtype: decoded.wireDtype, converted: decoded.converted, imported: [], present: [], refused: [], noRoom: [], written: [], bytesWritten: 0 };
    for (const { hash, reason } of decoded.refused) {
      if (this.refusedHashes.has(hash)) continue; // its other half was refused already
      const id = this.pending.get(hash);
      if (id !== undefined) {
        this.pending.delete(hash);
        this.pool.release(id); // unhashed: freed at once
      }
      this.refuse(frame, hash, reason);
    }
    for (const { hash } of decoded.skipped) {
      const why = declined.get(hash);
      if (why === "present" && !this.total.present.includes(hash)) push(frame.present, this.total.present, hash);
      else if (why === "no-room" && !this.total.noRoom.includes(hash)) push(frame.noRoom, this.total.noRoom, hash);
      else if (why === "not-offered") this.refuse(frame, hash, `block ${formatBlockHash(hash)} was not offered or not asked for`);
    }
    for (const { hash } of decoded.written) {
      frame.written.push(hash);
      frame.bytesWritten += bytesPerBlock;
      const halves = this.halves.get(hash)!;
      halves.add(decoded.component);
      if (halves.size < KV_COMPONENTS.length) continue;
      const id = this.pending.get(hash)!;
      this.pending.delete(hash);
      this.halves.delete(hash);
      if (this.pool.registerHash(id, hash, this.options.parents.get(hash) ?? null)) push(frame.imported, this.total.imported, hash);
      else push(frame.present, this.total.present, hash); // computed here meanwhile: ours stays unregistered and is freed
      this.pool.release(id);
    }
    return frame;
  }

  private refuse(frame: KvFrameAccepted, hash: BlockHash, reason: string): void {
    this.refusedHashes.add(hash);
    this.halves.delete(hash);
    frame.refused.push({ hash, reason });
    this.total.refused.push({ hash, reason });
  }
}

function push(frameList: BlockHash[], totalList: BlockHash[], hash: BlockHash): void {
  frameList.push(hash);
  totalList.push(hash);
}
