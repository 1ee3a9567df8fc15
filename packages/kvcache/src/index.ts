/**
 * @sigmaserve/kvcache: the paged KV cache with separate K and V pools.
 * The prefix hash alone is also exported as `@sigmaserve/kvcache/hash`, for
 * the router, which must not pull in the pools.
 */
export * from "./kv-types.js";
export * from "./hash/index.js";
export * from "./events/index.js";
// NOTE: the block pool itself (BlockPool, residency, the pool-level transfer functions) is not exported:
// the manager is the only door to the cache, and the type checker enforces it.
export type { PoolBytes } from "./pool/block-pool.js";
export { KvCacheConfigError, KvCacheInvariantError } from "./pool/errors.js";
export { HostArenaStorage, type TierStorage } from "./pool/tier-storage.js";
export { DEFAULT_KV_DTYPES } from "./pool/block-pool.js";
// The element conversions behind the 16-bit pools, for oracles and benches outside the package.
export { bf16BitsFromF32Bits, f32BitsFromBf16Bits } from "./dtype/bf16-bits.js";
export { f16BitsFromF32Bits, f32BitsFromF16Bits } from "./transfer/f16-bits.js";
export type { KvBlockExport, KvBlockImport } from "./pool/block-transfer.js";
export { blocksPerFrame, type KvExportFrame, type KvExportOptions, type KvFrameAllocator, type KvFrameExport } from "./pool/block-export.js";
export type { BlockImportSession as KvImportSession, KvFrameAccepted, KvImportSessionOptions } from "./pool/block-import-session.js";
export type { KvBlockLease } from "./pool/block-lease.js";
export { DEFAULT_RECENT_WINDOW_BLOCKS, KvCacheManager, type Admission, type KvCacheManagerOptions, type KvCacheMode } from "./manager/kv-cache-manager.js";
export type { KvAttentionView, KvBlockSlots } from "./manager/kv-attention-view.js";
export * from "./planner/index.js";
export * from "./transfer/index.js";
