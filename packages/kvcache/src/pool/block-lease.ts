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
  /** Hashes this cache does not hold. */
  readonly missing: readonly BlockHash[];
  /** False once released. */
  readonly active: boolean;
  release(): void;
}

export function leaseCachedBlocks(pool: BlockPool, hashes: readonly BlockHash[]): KvBlockLease {
  const held: BlockHash[] = [];
  const missing: BlockHash[] = [];
  const ids: number[] = [];
  for (const hash of hashes) {
    const id = pool.lookup(hash);
    if (id === undefined) missing.push(hash);
    else if (!held.includes(hash)) {
      pool.touch(id);
      ids.push(id);
      held.push(hash);
    }
  }
  let active = true;
  return {
    held,
    missing,
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
