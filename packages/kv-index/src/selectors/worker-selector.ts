/**
 * The last stage of routing: given the candidate workers' load and how much
 * of the request's prefix each holds, pick one. Selectors are pure policy
 * (round robin keeps only a counter); they take literal inputs and return the
 * choice with a per-worker breakdown for logs and metrics.
 */
import type { KvComponent, KvTier, WorkerOverlap } from "../kv-index-types.js";

export type RoutingPolicy = "round_robin" | "least_loaded" | "kv_aware";

export const ROUTING_POLICIES: readonly RoutingPolicy[] = ["round_robin", "least_loaded", "kv_aware"];
export const DEFAULT_ROUTING_POLICY: RoutingPolicy = "kv_aware";

/** What the router knows of one candidate's load (heartbeats plus its own bookkeeping of what it routed). */
export interface WorkerLoad {
  workerId: string;
  /** Requests running (prefilling or decoding) on the worker. */
  runningRequests: number;
  /** Requests queued on the worker, not yet running. */
  waitingRequests: number;
  /** Device KV blocks the running requests hold (Dynamo's "active blocks"). */
  activeBlocks: number;
  /** Blocks the waiting requests will need when they run; default 0 (unknown). */
  waitingBlocks?: number;
  /**
   * Usage of each pool tier, 0…1: blocks pinned by running requests over the
   * tier's blocks (cached free blocks are evictable, so they do not count); 0
   * for a tier the worker does not have. K and V are separate pools that fill
   * at different rates, so they are separate signals (see kv-pressure.ts).
   */
  kvUsage: KvUsageRatios;
  /**
   * The worker runs selective V: V lives on the host tier by design (only the
   * top-scoring rows are fetched), so a block whose K is on the device and V on
   * the host is ready to use, and V's host tier is where V fills up.
   */
  selectiveV: boolean;
}

/** Usage ratio (0…1) per component and tier. */
export type KvUsageRatios = Record<KvComponent, Record<KvTier, number>>;

export interface SelectionRequest {
  /** The workers the request may go to (healthy, admitting, serving the model); ids unique. */
  candidates: readonly WorkerLoad[];
  /** `KvIndex.overlap` of the request's block hashes; a worker absent from it holds no leading block. */
  overlap?: ReadonlyMap<string, WorkerOverlap>;
  /** Prompt length in tokens. */
  requestTokens: number;
  /** Tokens per block (16 by default in the cache). */
  blockSizeTokens: number;
}

/** One candidate's line in the breakdown. */
export interface WorkerCost {
  workerId: string;
  /** What the policy minimises (lower wins); its meaning is the policy's. */
  cost: number;
  /** Whether the policy let this worker compete at all. */
  eligible: boolean;
  /** Chance this worker had of being picked (1 for the pick and 0 for the others under a deterministic policy). */
  probability: number;
}

export interface WorkerSelection<C extends WorkerCost = WorkerCost> {
  workerId: string;
  policy: RoutingPolicy;
  /** Every candidate, sorted by worker id. */
  costs: C[];
}

export interface WorkerSelector {
  readonly policy: RoutingPolicy;
  /** The chosen worker and the breakdown, or null when there is no candidate. Throws `KvIndexArgumentError` for a malformed request. */
  select(request: SelectionRequest): WorkerSelection | null;
}
