/**
 * A lease on cached blocks: one reference on each, so none of them is
 * evicted, demoted or reused while another worker is about to read it (a
 * migration offer stands). The holder releases it when the pull is done,
 * aborted or timed out; release() is idempotent.
 */
import type { BlockHash } from "../kv-types.js";
import type { BlockPool } from "./block-pool.js";

export interface KvBlockLease {
  /** Hashes pinned, in request order. */
  readonly held: readonly BlockHash[];
  /** Hashes this cache does not hold (with `chain`, also every hash after the first missing one). */
  readonly missing: readonly BlockHash[];
  /** Each held block's registered parent hash (null for a chain root). */
  readonly parents: ReadonlyMap<BlockHash, BlockHash | null>;
  /** False once released. */
  readonly active: boolean;
  release(): void;
}

/**
 * With `chain`, `hashes` is a prefix chain (root first) and only its longest
 * held prefix is pinned: a block after a missing one could never be matched
 * as a prefix on another worker.
 */
export function leaseCachedBlocks(pool: BlockPool, hashes: readonly BlockHash[], options: { chain?: boolean } = {}): KvBlockLease {
  const held: BlockHash[] = [];
  const missing: BlockHash[] = [];
  const ids: number[] = [];
  const parents = new Map<BlockHash, BlockHash | null>();
  for (const hash of hashes) {
    const id = options.chain === true && missing.length > 0 ? undefined : pool.lookup(hash);
    if (id === undefined) missing.push(hash);
    else if (!parents.has(hash)) {
      pool.touch(id);
      ids.push(id);
      held.push(hash);
      parents.set(hash, pool.parentOf(id));
    }
  }
  let active = true;
  return {
    held,
    missing,
    parents,
    get active() {
      return active;
    },
    release() {
      if (!active) return;
      active = false;
      for (let i = ids.length - 1; i >= 0; i--) pool.release(ids[i]!);
    },
  };
}
