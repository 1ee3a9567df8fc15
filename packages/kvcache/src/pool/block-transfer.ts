/**
 * Moving cached blocks between pools (migration): export reads both halves of
 * cached blocks, wherever they reside, into one checksummed frame per
 * component; import writes verified blocks into fresh device slots and
 * registers them under their hashes, so the next prompt with that prefix hits.
 *
 * Import is all-or-nothing per block: a block whose K or V fails its checksum
 * (or is missing from the frames) is released unregistered, so a corrupt block
 * is never stored or served, and the caller recomputes it.
 *
 * These work on the pool, so only the manager calls them (its exportBlocks /
 * importBlocks); the package does not export them.
 */
import { KV_COMPONENTS, type BlockHash, type KvComponent } from "../kv-types.js";
import { decodeKvFrameInto } from "../transfer/decode-kv-frame-into.js";
import { encodeKvFrame } from "../transfer/encode-kv-frame.js";
import { formatBlockHash, kvFrameShape, type KvWireDtype } from "../transfer/kv-frame-layout.js";
import type { BlockPool } from "./block-pool.js";

export interface KvBlockExport {
  /** One frame per component, holding the exported blocks in `exported` order. */
  frames: Record<KvComponent, Uint8Array>;
  /** Hashes found and framed, in request order. */
  exported: BlockHash[];
  /** Hashes this cache does not hold (never cached, or evicted), in request order. */
  missing: BlockHash[];
}

/** Frames of the cached blocks named by `hashes`, in order; hashes not held are listed as missing. */
export function exportCachedBlocks(pool: BlockPool, hashes: readonly BlockHash[], wireDtype: KvWireDtype): KvBlockExport {
  const exported: BlockHash[] = [];
  const missing: BlockHash[] = [];
  const ids: number[] = [];
  for (const hash of hashes) {
    const id = pool.lookup(hash);
    if (id === undefined) missing.push(hash);
    else {
      exported.push(hash);
      ids.push(id);
    }
  }
  const frames = {} as Record<KvComponent, Uint8Array>;
  for (const component of KV_COMPONENTS) {
    const blocks = ids.map((id, i) => {
      const where = pool.residency(id, component)!;
      const storage = pool.storageOf(component, where.tier)!;
      let data = storage.view?.(where.slot);
      if (data === undefined) {
        data = new Float32Array(storage.slotFloats);
        storage.read(where.slot, 0, storage.slotFloats, data, 0);
      }
      return { hash: exported[i]!, data };
    });
    frames[component] = encodeKvFrame({ component, wireDtype, shape: kvFrameShape(pool.shape, component, pool.blockSizeTokens), blocks });
  }
  return { frames, exported, missing };
}

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

/**
 * Imports blocks from a K frame and a V frame. `parents` gives each block's
 * parent hash (null for a chain root), which is reported in the stored events.
 */
export function importCachedBlocks(pool: BlockPool, frames: Readonly<Record<KvComponent, Uint8Array>>, parents: ReadonlyMap<BlockHash, BlockHash | null>): KvBlockImport {
  const result: KvBlockImport = { imported: [], present: [], refused: [], noRoom: [] };
  const allocated = new Map<BlockHash, number>();
  const written: Record<KvComponent, Set<BlockHash>> = { k: new Set(), v: new Set() };
  const reasons = new Map<BlockHash, string>();
  for (const component of KV_COMPONENTS) {
    const decoded = decodeKvFrameInto(
      frames[component],
      (_, hash) => {
        let id = allocated.get(hash);
        if (id === undefined) {
          if (pool.lookup(hash) !== undefined) return null;
          const fresh = pool.allocate();
          if (fresh === null) return null;
          allocated.set(hash, (id = fresh));
        }
        const slot = pool.residency(id, component)!.slot;
        // Host arenas are written in place; a backend without views gets a staging copy below.
        return pool.storageOf(component, "device")!.view?.(slot) ?? null;
      },
      { component, shape: kvFrameShape(pool.shape, component, pool.blockSizeTokens) },
    );
    for (const { hash } of decoded.written) written[component].add(hash);
    for (const { hash, reason } of decoded.refused) reasons.set(hash, reason);
    for (const { hash } of decoded.skipped) {
      if (pool.lookup(hash) !== undefined) {
        if (!result.present.includes(hash)) result.present.push(hash);
      } else if (!allocated.has(hash) && !result.noRoom.includes(hash)) result.noRoom.push(hash);
    }
  }
  for (const [hash, id] of allocated) {
    const complete = written.k.has(hash) && written.v.has(hash) && !reasons.has(hash);
    if (complete && pool.registerHash(id, hash, parents.get(hash) ?? null)) result.imported.push(hash);
    else if (!complete) result.refused.push({ hash, reason: reasons.get(hash) ?? `block ${formatBlockHash(hash)} arrived in only one of the K and V frames` });
    // Registered blocks become cached free blocks; refused ones are freed at once (no hash).
    pool.release(id);
  }
  return result;
}
