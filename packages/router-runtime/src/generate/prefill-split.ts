/**
 * Prefill/decode split ("disaggregated serving"), when it pays: a long prompt
 * that the chosen decode worker does not hold runs its prefill (and its first
 * token) on a prefill-role worker; the prompt's KV then moves to the decode
 * worker over the migration path (migrate.request: K frames first), and the
 * request continues there by the same exact replay failover uses, so the
 * output is the aggregated path's for the same seed. Only the partial last
 * block is computed again on the decode worker.
 *
 * It pays only when the prompt is long (at least `minPromptTokens` of it not
 * cached on the decode worker) and the prefill worker is free enough (at most
 * `maxPrefillQueue` requests waiting or in flight from this router); else the
 * request runs whole on a decode-capable worker, which is how short prompts
 * always run.
 */
import { create } from "@bufbuild/protobuf";
import type { CoordBus } from "@sigmaserve/coord";
import { DEFAULT_SPECULATION_TTL_MS, type KvIndex, type WorkerSelector } from "@sigmaserve/kv-index";
import { coordv1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { PooledWorker, WorkerPool } from "../workers/worker-pool.js";
import type { RouteDecision, RoutedRequest } from "./dispatcher.js";
import { hashSpecOf, selectWorker } from "./route-candidates.js";

/** Prompt tokens (not cached on the decode worker) from which a split pays. */
export const DEFAULT_SPLIT_MIN_PROMPT_TOKENS = 1_024;
/** Requests a prefill worker may have queued (waiting, plus in flight from this router) and still take a split. */
export const DEFAULT_SPLIT_MAX_PREFILL_QUEUE = 4;
/** How long the router waits for the KV to move before the decode worker computes what has not landed, ms. */
export const DEFAULT_SPLIT_MIGRATION_TIMEOUT_MS = 30_000;

export interface SplitOptions {
  bus: Pick<CoordBus, "requestMigration">;
  minPromptTokens?: number;
  maxPrefillQueue?: number;
  migrationTimeoutMs?: number;
}

export interface SplitPlan {
  /** The prefill stage's attempt, as Dispatcher.pick answers. */
  prefill: { worker: PooledWorker; hashes: bigint[]; decision: RouteDecision; cachePull: null };
  decode: PooledWorker;
  /** The prompt's block hashes (the hash spec both workers share). */
  hashes: bigint[];
}

/** A worker's role; workers that predate roles are BOTH. */
export function roleOf(worker: PooledWorker): coordv1.WorkerRole {
  return worker.info.role === coordv1.WorkerRole.UNSPECIFIED ? coordv1.WorkerRole.BOTH : worker.info.role;
}

export function planSplit(options: { pool: WorkerPool; index: KvIndex; selector: WorkerSelector; split?: SplitOptions }, request: RoutedRequest): SplitPlan | null {
  const split = options.split;
  const minPromptTokens = split?.minPromptTokens ?? DEFAULT_SPLIT_MIN_PROMPT_TOKENS;
  if (split === undefined || request.promptTokens.length < minPromptTokens) return null;
  const now = Date.now();
  const routable = options.pool.routable(request.model, now);
  const queueOf = (w: PooledWorker) => (w.load?.waitingRequests ?? 0) + w.inFlight;
  const prefillers = routable.filter((w) => roleOf(w) === coordv1.WorkerRole.PREFILL && queueOf(w) <= (split.maxPrefillQueue ?? DEFAULT_SPLIT_MAX_PREFILL_QUEUE));
  if (prefillers.length === 0) return null;
  const decodeChoice = selectWorker(options.selector, options.index, routable.filter((w) => roleOf(w) !== coordv1.WorkerRole.PREFILL), request, now);
  if (decodeChoice === null || decodeChoice.hashes.length === 0) return null;
  const uncached = request.promptTokens.length - decodeChoice.overlap.matchedBlocks * decodeChoice.blockSizeTokens;
  if (uncached < minPromptTokens) return null;
  // The blocks must mean the same on both: same hash spec.
  const spec = hashSpecOf(decodeChoice.worker);
  const same = prefillers.filter((w) => {
    const other = hashSpecOf(w);
    return other !== null && spec !== null && other.algorithm === spec.algorithm && other.seed === spec.seed && other.blockSizeTokens === spec.blockSizeTokens;
  });
  const prefill = same.sort((a, b) => queueOf(a) - queueOf(b) || (a.id < b.id ? -1 : 1))[0];
  if (prefill === undefined) return null;
  options.index.speculate(prefill.id, decodeChoice.hashes, DEFAULT_SPECULATION_TTL_MS, now);
  return {
    prefill: { worker: prefill, hashes: decodeChoice.hashes, decision: { workerId: prefill.id, policy: "prefill", matchedBlocks: 0 }, cachePull: null },
    decode: decodeChoice.worker,
    hashes: decodeChoice.hashes,
  };
}

/** Moves the prompt's KV from the prefill worker to the decode worker; a failure (or a timeout) only means the decode worker computes more. */
/** `headers`: the request's trace context, for the migrate.request (the workers' migration spans join the trace). */
export async function moveSplitKv(options: { split?: SplitOptions }, request: RoutedRequest, plan: SplitPlan, logger: Logger, headers: Readonly<Record<string, string>> = {}): Promise<void> {
  const split = options.split!;
  const log = { requestId: request.requestId, from: plan.prefill.worker.id, to: plan.decode.id, blocks: plan.hashes.length };
  try {
    const result = await split.bus.requestMigration(
      plan.prefill.worker.id,
      create(coordv1.MigrationRequestSchema, { targetWorkerId: plan.decode.id, blockHashes: plan.hashes, requestId: request.requestId, requesterId: "router" }),
      { timeoutMs: split.migrationTimeoutMs ?? DEFAULT_SPLIT_MIGRATION_TIMEOUT_MS, headers },
    );
    logger.debug({ ...log, outcome: coordv1.MigrationOutcome[result.outcome], imported: result.done?.blocksImported ?? 0, kMs: result.done?.kCompleteMs, ms: result.done?.durationMs }, "prefill KV moved to the decode worker");
  } catch (err) {
    logger.warn({ ...log, err: (err as Error).message }, "prefill KV did not move; the decode worker computes the prompt");
  }
}
