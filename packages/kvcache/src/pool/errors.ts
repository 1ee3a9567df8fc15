/** Typed errors of the block pool: broken invariants and misuse, never "full" (that is a null). */

/** A caller broke the pool's contract (freeing a free block, reading an absent component). A bug, not a condition. */
export class KvCacheInvariantError extends Error {
  override readonly name = "KvCacheInvariantError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Pool sizes that cannot work (zero blocks, a tier smaller than one block). */
export class KvCacheConfigError extends Error {
  override readonly name = "KvCacheConfigError";
  constructor(field: string, rule: string) {
    super(`kv cache config: ${field}: ${rule}`);
  }
}
