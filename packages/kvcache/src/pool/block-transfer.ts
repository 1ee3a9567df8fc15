/**
 * Moving cached blocks between pools in one piece (one frame per component):
 * the whole-export and whole-import forms of block-export.ts and
 * block-import-session.ts, for callers that hold both frames at once.
 *
 * These work on the pool, so only the manager calls them (its exportBlocks /
 * importBlocks); the package does not export them.
 */
import { KV_COMPONENTS, type BlockHash, type KvComponent } from "../kv-types.js";
import { encodeKvFrame } from "../transfer/encode-kv-frame.js";
import { kvFrameShape, type KvWireDtype } from "../transfer/kv-frame-layout.js";
import { exportBlockFrames } from "./block-export.js";
import { BlockImportSession, type KvBlockImport } from "./block-import-session.js";
import type { BlockPool } from "./block-pool.js";

export type { KvBlockImport } from "./block-import-session.js";

export interface KvBlockExport {
  /** One frame per component, holding the exported blocks in `exported` order. */
  frames: Record<KvComponent, Uint8Array>;
  /** Hashes found and framed, in request order. */
  exported: BlockHash[];
  /** Hashes this cache does not hold (never cached, or evicted), in request order. */
  missing: BlockHash[];
}

/** Frames of the cached blocks named by `hashes`, in order (default: each component as stored); hashes not held are listed as missing. */
export function exportCachedBlocks(pool: BlockPool, hashes: readonly BlockHash[], wireDtype?: KvWireDtype): KvBlockExport {
  const plan = exportBlockFrames(pool, hashes, wireDtype === undefined ? {} : { wireDtype });
  const frames = {} as Record<KvComponent, Uint8Array>;
  for (const frame of plan.frames()) frames[frame.component] = frame.bytes;
  for (const component of KV_COMPONENTS) {
    frames[component] ??= encodeKvFrame({ component, wireDtype: wireDtype ?? pool.dtype[component], shape: kvFrameShape(pool.shape, component, pool.blockSizeTokens), blocks: [] });
  }
  return { frames, exported: plan.exported, missing: plan.missing };
}

/**
 * Imports blocks from a K frame and a V frame. `parents` gives each block's
 * parent hash (null for a chain root), which is reported in the stored events.
 */
export function importCachedBlocks(pool: BlockPool, frames: Readonly<Record<KvComponent, Uint8Array>>, parents: ReadonlyMap<BlockHash, BlockHash | null>): KvBlockImport {
  const session = new BlockImportSession(pool, { parents });
  try {
    for (const component of KV_COMPONENTS) session.acceptFrame(frames[component], component);
  } catch (err) {
    session.finish(); // a broken frame: free what the other one allocated
    throw err;
  }
  return session.finish();
}
