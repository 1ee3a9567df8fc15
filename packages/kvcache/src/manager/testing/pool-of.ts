/**
 * Tests only: the block pool behind a manager, for in-package tests that
 * assert refcounts, the LRU order and invariants, or drive demotion directly.
 * The package exports no path to it (the manager is the only door), so code
 * outside kvcache cannot do this.
 */
import type { BlockPool } from "../../pool/block-pool.js";
import type { KvCacheManager } from "../kv-cache-manager.js";

export function poolOf(manager: KvCacheManager): BlockPool {
  // NOTE: element access is TypeScript's sanctioned way past `private`; it keeps the type.
  return manager["pool"];
}
