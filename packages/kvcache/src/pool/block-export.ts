/**
 * Export of cached blocks as a sequence of frames: every K frame first, then
 * every V frame (K is needed at every decode step and is the smaller half on
 * DiffQKV models, so a target has it soonest), each frame holding as many
 * whole blocks as fit in `maxFrameBytes` (at least one).
 *
 * The blocks are pinned (one reference each) from the moment the export is
 * planned until its frames are consumed or abandoned, so an export that
 * yields between frames (a gRPC stream waiting for its consumer) never reads a
 * block that was evicted and reused meanwhile. `close()` (or running the
 * generator to its end, or `return()` on it) drops the pins; it is idempotent.
 */
import { KV_COMPONENTS, type BlockHash, type KvArena, type KvComponent } from "../kv-types.js";
import { encodeKvFrame } from "../transfer/encode-kv-frame.js";
import {
  KV_FRAME_HEADER_BYTES,
  KV_FRAME_TABLE_CRC_BYTES,
  KV_FRAME_TABLE_ENTRY_BYTES,
  WIRE_DTYPE_BYTES,
  frameShapeElements,
  kvFrameByteLength,
  kvFrameShape,
  type KvWireDtype,
} from "../transfer/kv-frame-layout.js";
import type { BlockPool } from "./block-pool.js";

export interface KvExportOptions {
  /**
   * How values travel; default: each component in its stored dtype, as raw stored bits (no conversion).
   * Another dtype converts on the way out (narrowing rounds to nearest even).
   */
  wireDtype?: KvWireDtype;
  /** Largest frame, bytes; a block bigger than this still travels alone in its frame. Default: no limit (one frame per component). */
  maxFrameBytes?: number;
  /** Components to export, in this order; default K then V. */
  components?: readonly KvComponent[];
}

/** One frame of an export: blocks `hashes` (in chain order) of one component. */
export interface KvExportFrame {
  component: KvComponent;
  hashes: BlockHash[];
  /** Payload bytes in the frame (its blocks, without header and table). */
  payloadBytes: number;
  bytes: Uint8Array;
}

/**
 * Where a frame is encoded: given its length in bytes and what it will hold,
 * a buffer of exactly that many bytes to write it into (e.g. the tail of a
 * gRPC message whose head the caller wrote, so the frame is never copied
 * again). Default: a fresh buffer.
 */
export type KvFrameAllocator = (frameBytes: number, frame: { component: KvComponent; hashes: readonly BlockHash[] }) => Uint8Array;

export interface KvFrameExport {
  /** Hashes found and pinned, in request order. */
  exported: BlockHash[];
  /** Hashes this cache does not hold (never cached, or evicted), in request order. */
  missing: BlockHash[];
  /** Each exported block's registered parent hash (null for a chain root). */
  parents: ReadonlyMap<BlockHash, BlockHash | null>;
  /** The frames, K first; encoded lazily, one at a time, each into what `allocate` returns. */
  frames(allocate?: KvFrameAllocator): Generator<KvExportFrame, void, undefined>;
  /** Drops the pins (idempotent); frames() cannot run after it. */
  close(): void;
}

export function exportBlockFrames(pool: BlockPool, hashes: readonly BlockHash[], options: KvExportOptions): KvFrameExport {
  const exported: BlockHash[] = [];
  const missing: BlockHash[] = [];
  const ids: number[] = [];
  const parents = new Map<BlockHash, BlockHash | null>();
  for (const hash of hashes) {
    const id = pool.lookup(hash);
    if (id === undefined) missing.push(hash);
    if (id === undefined || parents.has(hash)) continue; // each block once
    pool.touch(id);
    exported.push(hash);
    ids.push(id);
    parents.set(hash, pool.parentOf(id));
  }
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    for (const id of ids) pool.release(id);
  };
  const components = options.components ?? KV_COMPONENTS;
  function* frames(allocate?: KvFrameAllocator): Generator<KvExportFrame, void, undefined> {
    try {
      for (const component of components) {
        if (!open) throw new Error("the export was closed");
        const shape = kvFrameShape(pool.shape, component, pool.blockSizeTokens);
        const dataDtype = pool.dtype[component];
        const wireDtype = options.wireDtype ?? dataDtype;
        const payloadBytes = frameShapeElements(shape) * WIRE_DTYPE_BYTES[wireDtype];
        const perFrame = blocksPerFrame(payloadBytes, options.maxFrameBytes);
        for (let start = 0; start < ids.length; start += perFrame) {
          const run = ids.slice(start, start + perFrame);
          const blocks = run.map((id, i) => ({ hash: exported[start + i]!, data: blockData(pool, id, component) }));
          const input = { component, wireDtype, dataDtype, shape, blocks };
          const hashes = blocks.map((b) => b.hash);
          const bytes = allocate === undefined ? encodeKvFrame(input) : encodeKvFrame(input, { into: allocate(kvFrameByteLength(blocks.length, payloadBytes), { component, hashes }) });
          yield { component, hashes, payloadBytes: payloadBytes * blocks.length, bytes };
        }
      }
    } finally {
      close();
    }
  }
  return { exported, missing, parents, frames, close };
}

/** Whole blocks of `payloadBytes` that fit in a frame of `maxFrameBytes` with its header and table; at least 1. */
export function blocksPerFrame(payloadBytes: number, maxFrameBytes: number | undefined): number {
  if (maxFrameBytes === undefined || !Number.isFinite(maxFrameBytes)) return Number.MAX_SAFE_INTEGER;
  const fixed = KV_FRAME_HEADER_BYTES + KV_FRAME_TABLE_CRC_BYTES;
  return Math.max(1, Math.floor((maxFrameBytes - fixed) / (payloadBytes + KV_FRAME_TABLE_ENTRY_BYTES)));
}

/**
 * One half of a block, from whichever tier it is on: a view of its stored bits where the storage has one,
 * else an f32 copy (a storage without views is f32 storage; see TierStorage).
 */
function blockData(pool: BlockPool, id: number, component: KvComponent): KvArena {
  const where = pool.residency(id, component)!;
  const storage = pool.storageOf(component, where.tier)!;
  const view = storage.view?.(where.slot);
  if (view !== undefined) return view;
  const copy = new Float32Array(storage.slotFloats);
  storage.read(where.slot, 0, storage.slotFloats, copy, 0);
  return copy;
}
