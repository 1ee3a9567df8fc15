/**
 * The prefix chains worth keeping when a worker goes away: the cached blocks,
 * most recently used leaf first (a leaf: no cached block names it as parent),
 * each extended back through the registered parents to its root and given
 * root first. A chain must start at a root to be matchable by a prompt, so
 * chains that share a prefix both name it (the importer skips what it already
 * holds), and a chain whose ancestor was evicted is left out. `maxBlocks`
 * bounds the distinct blocks named; the hottest chains come first.
 */
import type { BlockHash } from "../kv-types.js";
import type { BlockPool } from "./block-pool.js";

export function hotChains(pool: BlockPool, maxBlocks: number): BlockHash[][] {
  const cached = pool.cachedFreeBlocks().reverse(); // most recently used first
  const parents = new Set<BlockHash>();
  for (const id of cached) {
    const parent = pool.parentOf(id);
    if (parent !== null) parents.add(parent);
  }
  const named = new Set<BlockHash>();
  const chains: BlockHash[][] = [];
  for (const id of cached) {
    const leaf = pool.hashOf(id);
    // A block that is some cached block's parent travels inside that block's chain.
    if (leaf === null || parents.has(leaf) || named.has(leaf)) continue;
    const chain: BlockHash[] = [];
    for (let hash: BlockHash | null = leaf; hash !== null; ) {
      const blockId = pool.lookup(hash);
      if (blockId === undefined) break; // the root was evicted: the chain starts at the first held block after it, unmatchable
      chain.push(hash);
      hash = pool.parentOf(blockId);
      if (hash !== null && pool.lookup(hash) === undefined) {
        chain.length = 0; // a missing ancestor: no prompt can match this chain from its root
        break;
      }
    }
    if (chain.length === 0) continue;
    chain.reverse();
    const fresh = chain.filter((h) => !named.has(h)).length;
    if (named.size + fresh > maxBlocks) break;
    for (const hash of chain) named.add(hash);
    chains.push(chain);
  }
  return chains;
}
