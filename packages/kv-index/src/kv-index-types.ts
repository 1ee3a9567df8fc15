/**
 * The vocabulary of the router's index. Component and tier are read off the
 * event types of `@sigmaserve/kvcache/events` (the only kvcache entry points
 * this package may import besides `/hash`), so they cannot drift.
 */
import type { KvResyncReason, KvSnapshot, KvWorkerCursor } from "@sigmaserve/kvcache/events";

type ResidencyGroup = KvSnapshot["residency"][number];

/** "k" or "v". */
export type KvComponent = ResidencyGroup["component"];
/** "device" or "host". */
export type KvTier = ResidencyGroup["tier"];
/** One (component, tier) group: the hashes resident there, ascending. */
export type KvIndexResidencyGroup = ResidencyGroup;

/** Ask this worker for a snapshot (over the bus) and hand it to `KvIndex.applySnapshot`. */
export interface KvResyncRequest {
  workerId: string;
  /** "gap": events were lost, the old state stays until the snapshot; "new-epoch": the worker restarted, its old state is already dropped. */
  reason: KvResyncReason;
  /** The seq the index would have applied next (1 after a new epoch). */
  expectedSeq: number;
}

/**
 * How much of a request's prefix one worker holds. `matchedBlocks` counts the
 * request's LEADING blocks whose K the worker holds (any tier), stopping at
 * the first block it lacks. Each matched block is either a device hit (K and V
 * both on the device) or a host hit (anything else: V on the host, K on the
 * host, or V not reported yet), so matchedBlocks = deviceBlocks + hostBlocks.
 */
export interface WorkerOverlap {
  matchedBlocks: number;
  /** Matched blocks usable as they are: K and V on the device. */
  deviceBlocks: number;
  /** Matched blocks that need a promotion (a host→device copy) first; still far cheaper than prefill. */
  hostBlocks: number;
  /**
   * Of the host blocks, those with K on the device and only V on the host.
   * On a selective-V worker that is the normal state of a block, ready to use
   * as it is (attention fetches the top V rows from the host); the selector,
   * which knows the worker's mode, counts them as device hits there.
   */
  kDeviceVHostBlocks: number;
  /** Matched blocks known only by speculation (routed, not yet stored); counted in deviceBlocks. */
  speculativeBlocks: number;
}

export interface KvIndexOverlapOptions {
  /**
   * The caller's clock (ms). Speculative entries count only when it is given
   * and earlier than their expiry; without it the overlap reflects stored
   * events only.
   */
  nowMs?: number;
}

/** Blocks per component and tier. */
export type KvBlockCounts = Record<KvComponent, Record<KvTier, number>>;

export interface KvIndexWorkerStats {
  workerId: string;
  blocks: KvBlockCounts;
  /** Speculative entries not yet confirmed (by `nowMs` when given, else also expired ones not yet pruned). */
  speculativeBlocks: number;
  /** Where the event stream stands; null for a worker known only by speculation. */
  sync: KvWorkerCursor | null;
}

/** For /v1/cluster. */
export interface KvIndexStats {
  workers: number;
  /** Distinct hashes held (really or speculatively) by at least one worker. */
  distinctBlockHashes: number;
  /** Sorted by worker id. */
  perWorker: KvIndexWorkerStats[];
}
