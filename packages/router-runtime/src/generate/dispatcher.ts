/**
 * Dispatcher: one admitted generation through the cluster: pick a worker,
 * relay its stream, and fail over when it breaks. Why a class of its own: it
 * is the one place that holds per-dispatch state across attempts (tokens
 * already sent, workers tried, replays) and the worker bookkeeping (in-flight
 * requests and blocks, quarantine); admission and parsing are upstream in
 * RequestPipeline, and the choice itself is the selector's (route-candidates.ts).
 *
 * Data flows one way: block hashes of the prompt → overlap from the KV index
 * → the selector's choice → the worker's stream → the client. If the worker
 * fails before the first token, the request is retried elsewhere. If it
 * fails mid-stream, the prompt plus the tokens already sent are replayed on
 * another worker, which continues as if it had produced them (same seed, same
 * step numbering), so the client sees one gap-free stream. Replays are
 * limited; a client error (a bad field) is never retried. A worker that
 * drains with migration ends a stream handed over, naming the worker that
 * received its KV (proto's handover.ts): the request continues there, by the
 * same replay, as a cache hit; a handover is not a failure and is not counted
 * as a replay.
 */
import { connectivityState, status } from "@grpc/grpc-js";
import { DEFAULT_SPECULATION_TTL_MS, type KvIndex, type WorkerSelector } from "@sigmaserve/kv-index";
import { create } from "@bufbuild/protobuf";
import type { CoordBus } from "@sigmaserve/coord";
import { coordv1, GrpcStatusError, handoverTargetOf, inferencev1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { NoWorkerError, StreamFailedError } from "../errors.js";
import { WorkerLostError } from "./worker-lost.js";
import type { PooledWorker, WorkerPool } from "../workers/worker-pool.js";
import { planCachePull, type CachePullPlan } from "./cache-pull.js";
import { moveSplitKv, planSplit, roleOf, type SplitOptions } from "./prefill-split.js";
import { blockSizeOf, selectWorker } from "./route-candidates.js";
import { context as otelContext, traceHeaders, traceLogFields, type Context } from "@sigmaserve/telemetry";
import { endWorkerCallSpan, failoverEvent, startRouteSpan, startWorkerCallSpan } from "../tracing/dispatch-spans.js";

/** How long a worker that failed a call is skipped, ms. */
export const FAILED_WORKER_QUARANTINE_MS = 2_000;
/** Replays of a request after mid-stream failures, at most. */
export const DEFAULT_MAX_REPLAYS = 2;
/**
 * How long a stream may go without a message once its first token came, before the worker is taken for
 * hung and the request fails over, ms. NOTE: only after the first message of an attempt: before it, a
 * worker may be queueing the request or computing a long prompt; a worker that hangs then stops
 * heartbeating and leaves the pool, which fails its streams over too (worker-pool.ts).
 */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/**
 * Statuses that are the request's fault: passed to the client, never retried
 * elsewhere, never held against the worker. INVALID_ARGUMENT includes a
 * request the client adapter could not serialise (it fails before sending).
 */
const CLIENT_FAULTS = new Set<status>([status.INVALID_ARGUMENT, status.OUT_OF_RANGE, status.ALREADY_EXISTS, status.PERMISSION_DENIED, status.UNAUTHENTICATED]);

export interface RoutedRequest {
  /** Router-assigned id, unique in the cluster. */
  requestId: string;
  clientRequestId: string;
  model: string;
  promptTokens: number[];
  /** Sampling with a seed always set (the router draws one), so replays are exact. */
  sampling: inferencev1.SamplingParams;
  cacheSalt: string;
  priority: number;
  /** Wall clock at arrival, ms since the epoch (sent to the worker, which times from it). */
  arrivedAtMs: number;
  /** performance.now() at arrival: the router's own share of TTFT is timed from it. */
  arrivedAtPerfMs: number;
}

/**
 * What a dispatch yields. `requestId` on a chunk is the router-assigned id (the gRPC door sends it as
 * `x-request-id` in the response headers, before the first token). A finish the router made because the stream
 * failed after its first token (FINISH_REASON_ERROR) carries `failure`: the gRPC door ends the call with its
 * status after the finish; the OpenAI door reads only the finish.
 */
export type DispatchEvent = { kind: "chunk"; chunk: inferencev1.TokenChunk; requestId?: string } | { kind: "finish"; finish: inferencev1.GenerateFinish; failure?: StreamFailedError };

/** Worker statuses that mean a bug rather than an outage: a stream given up after them ends INTERNAL, not UNAVAILABLE. */
const INTERNAL_FAULTS = new Set<status>([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);

export interface RouteDecision {
  workerId: string;
  policy: string;
  matchedBlocks: number;
  /** A cache pull made before dispatch: the holder the blocks came from and how many it was asked for. */
  cachePull?: { fromWorkerId: string; blocks: number; outcome: string };
  /** Every candidate's cost under the policy (lower wins), for traces and logs. */
  candidates?: { workerId: string; cost: number; eligible: boolean }[];
}

export interface DispatcherOptions {
  pool: WorkerPool;
  index: KvIndex;
  selector: WorkerSelector;
  logger: Logger;
  maxReplays?: number;
  /** Called after each routing decision (metrics, tests). */
  onRoute?: (request: RoutedRequest, decision: RouteDecision) => void;
  /** Called when a request moves to another worker: before its first token (retry), mid-stream (replay) or with its KV (handover). */
  onFailover?: (request: RoutedRequest, kind: "retry" | "replay" | "handover", fromWorkerId: string) => void;
  /** Cache pulls (cache-pull.ts), over the bus; absent: never. */
  cachePulls?: { bus: Pick<CoordBus, "requestMigration">; minBlocks?: number };
  /** Prefill/decode split (prefill-split.ts); absent: never. */
  split?: SplitOptions;
  /** A stream silent this long after its first message fails over, ms; default DEFAULT_STALL_TIMEOUT_MS. */
  stallTimeoutMs?: number;
}

/** The error a stream given up after its first token ends with (UNAVAILABLE, or INTERNAL when the last worker failure was a bug). */
function streamFailure(message: string, cause: unknown): StreamFailedError {
  const internal = cause instanceof GrpcStatusError && INTERNAL_FAULTS.has(cause.code);
  return new StreamFailedError(message, internal ? "internal" : "unavailable", { cause });
}

/** Whether the router's channel to `worker` is failing to connect (TRANSIENT_FAILURE), rather than the worker having answered. */
function cannotConnect(worker: PooledWorker): boolean {
  return worker.client.grpcClient.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
}

function blocksFor(tokens: number, blockSize: number): number {
  return Math.ceil(tokens / blockSize);
}

export class Dispatcher {
  /** Workers that had their exploratory cache pull (cache-pull.ts). */
  private readonly explored = new Set<string>();

  constructor(private readonly options: DispatcherOptions) {}

  /**
   * Picks a worker for the request among those not excluded; null when none
   * is routable. `preferred` (a handover's target) wins when it is routable.
   */
  pick(request: RoutedRequest, exclude: ReadonlySet<string>, preferred?: string): { worker: PooledWorker; hashes: bigint[]; decision: RouteDecision; cachePull: CachePullPlan | null } | null {
    const now = Date.now();
    // Prefill-only workers take nothing but the prefill stage of a split request (planSplit).
    const routable = this.options.pool.routable(request.model, now).filter((w) => !exclude.has(w.id) && roleOf(w) !== coordv1.WorkerRole.PREFILL);
    const handoverTarget = preferred === undefined ? undefined : routable.find((w) => w.id === preferred);
    const candidates = handoverTarget === undefined ? routable : [handoverTarget];
    if (candidates.length === 0) return null;
    const choice = selectWorker(this.options.selector, this.options.index, candidates, request, now);
    if (choice === null) return null;
    const { worker, hashes, selection, overlap } = choice;
    const cachePull =
      this.options.cachePulls === undefined || handoverTarget !== undefined || hashes.length === 0
        ? null
        : planCachePull({ target: worker, candidates: routable, overlap: choice.overlaps, hashes, blockSizeTokens: choice.blockSizeTokens, explored: this.explored, ...(this.options.cachePulls.minBlocks === undefined ? {} : { minBlocks: this.options.cachePulls.minBlocks }) });
    // Until the worker's stored events arrive, pretend it holds the prefix, so a burst sharing it sticks.
    if (hashes.length > 0) this.options.index.speculate(worker.id, hashes, DEFAULT_SPECULATION_TTL_MS, now);
    const candidatesCost = selection.costs.map((c) => ({ workerId: c.workerId, cost: c.cost, eligible: c.eligible }));
    return { worker, hashes, decision: { workerId: worker.id, policy: handoverTarget === undefined ? selection.policy : "handover", matchedBlocks: overlap.matchedBlocks, candidates: candidatesCost }, cachePull };
  }

  /** `trace`: the request's span context (its route and worker-call spans go under it); default the active one. */
  async *generate(request: RoutedRequest, signal: AbortSignal, trace: Context = otelContext.active()): AsyncGenerator<DispatchEvent> {
    const maxReplays = this.options.maxReplays ?? DEFAULT_MAX_REPLAYS;
    const sentTokens: number[] = [];
    let sentText = "";
    let replays = 0;
    let firstTokenAtMs: number | undefined;
    /** The router's own share of TTFT (Timings.router_ms): to the dispatch that produced the first token, plus its relay. */
    let routerMs = 0;
    const tried = new Set<string>();
    /** The last worker failure, for the status of a stream given up (StreamFailedError). */
    let lastError: unknown;
    /** The worker the last attempt's handover named, for the next pick (every failure sets it anew). */
    let handoverTo: string | undefined;
    /**
     * A prefill/decode split: its first attempt runs the prompt and the first token on a prefill worker.
     * NOTE: never for prompt_logprobs: the worker that finishes must compute the whole prompt for its logits
     * anyway (moving its KV saves nothing), and a scoring request (max_tokens 0) samples no first token.
     */
    let split = request.sampling.promptLogprobs === undefined ? planSplit(this.options, request) : null;
    for (;;) {
      const stage = split === null ? "whole" : "prefill";
      const routeSpan = startRouteSpan(trace);
      const picked = split === null ? this.pick(request, tried, handoverTo) : split.prefill;
      routeSpan.end(picked?.decision ?? null);
      if (picked === null) {
        if (sentTokens.length === 0) throw new NoWorkerError(`no worker can serve model "${request.model}" right now${tried.size > 0 ? ` (${tried.size} failed)` : ""}`);
        const message = "every worker that could continue the stream failed";
        // The status names the last worker's failure too; the finish's message stays as the OpenAI door has always shown it.
        const failure = streamFailure(`${message}${lastError instanceof Error ? `: ${lastError.message}` : ""}`, lastError);
        yield { kind: "finish", finish: this.errorFinish(request, sentTokens.length, message), failure };
        return;
      }
      const { worker, decision } = picked;
      tried.add(worker.id);
      if (picked.cachePull !== null && sentTokens.length === 0) decision.cachePull = await this.pullCache(request, worker, picked.cachePull, trace);
      this.options.onRoute?.(request, decision);
      // The decode-load term counts only the blocks this request adds on that worker: the prefix it
      // matched is shared with what the worker already holds (counting it made busy cache holders
      // look costlier than cold idle workers, and spilled tenants onto them).
      const blocks = Math.max(0, blocksFor(request.promptTokens.length + (request.sampling.maxTokens ?? 16), blockSizeOf(picked.worker)) - decision.matchedBlocks);
      worker.inFlight++;
      worker.inFlightBlocks += blocks;
      let finished = false;
      /** The prefill stage ended at its one token, as asked: the decode worker continues. */
      let prefilled = false;
      /** Whether this attempt's worker sent anything: one that failed before is one the router could not reach. */
      let heard = false;
      const dispatchedAtPerfMs = performance.now();
      const call = startWorkerCallSpan(trace, worker, stage);
      let callError: unknown;
      // The attempt's own signal: the client's, or the router giving up on the worker (a stall, or the worker left the pool).
      const attempt = new AbortController();
      const cancelAttempt = (): void => attempt.abort(signal.reason);
      signal.addEventListener("abort", cancelAttempt, { once: true });
      worker.attempts.add(attempt);
      const stall = this.stallWatch(worker, attempt);
      try {
        const stream = worker.client.generate(
          {
            requestId: request.requestId,
            model: request.model,
            promptTokenIds: request.promptTokens,
            sampling: stage === "prefill" ? { ...request.sampling, maxTokens: 1 } : request.sampling,
            cacheSalt: request.cacheSalt,
            generatedTokenIds: sentTokens,
            generatedText: sentText,
            priority: request.priority,
            arrivedAtUnixMs: BigInt(request.arrivedAtMs),
          },
          { signal: attempt.signal, metadata: call.metadata },
        );
        for await (const message of stall.watch(stream)) {
          heard = true;
          if (message.event.case === "chunk") {
            const chunk = message.event.value;
            sentTokens.push(...chunk.tokenIds);
            sentText += chunk.textDelta;
            if (firstTokenAtMs !== undefined) {
              yield { kind: "chunk", chunk, requestId: request.requestId };
              continue;
            }
            firstTokenAtMs = Date.now();
            const receivedAtPerfMs = performance.now();
            // The consumer writes the chunk to the client before this generator resumes.
            yield { kind: "chunk", chunk, requestId: request.requestId };
            routerMs = dispatchedAtPerfMs - request.arrivedAtPerfMs + (performance.now() - receivedAtPerfMs);
          } else if (message.event.case === "finish") {
            const finish = message.event.value;
            if (stage === "prefill" && finish.finishReason === inferencev1.FinishReason.LENGTH && (request.sampling.maxTokens ?? 2) > 1) {
              prefilled = true; // the cut we asked for, not the request's end
              continue;
            }
            finish.requestId = request.requestId;
            finish.clientRequestId = request.clientRequestId;
            // The client's view of time: from the router's arrival, across failovers.
            const now = Date.now();
            finish.timings = { $typeName: "sigmaserve.v1.Timings", queueMs: finish.timings?.queueMs ?? 0, ttftMs: (firstTokenAtMs ?? now) - request.arrivedAtMs, e2eMs: now - request.arrivedAtMs, meanItlMs: finish.timings?.meanItlMs ?? 0, routerMs };
            finished = true;
            yield { kind: "finish", finish };
            // Read on to the stream's end (the worker closes it right after the finish): leaving the loop
            // here would cancel a call that already succeeded, a RST_STREAM and an error on both sides.
          }
        }
        if (finished) return;
        if (prefilled && split !== null) {
          await moveSplitKv(this.options, request, split, this.options.logger, traceHeaders(trace));
          handoverTo = split.decode.id;
          split = null;
          continue;
        }
        throw new GrpcStatusError(status.UNAVAILABLE, `worker ${worker.id} ended the stream without a finish`);
      } catch (err) {
        // The client has its whole answer; a failure while closing the worker's stream changes nothing.
        if (finished) return;
        // A cancel the router made is the worker's failure, told by the reason it gave.
        const failure: unknown = !signal.aborted && attempt.signal.reason instanceof WorkerLostError ? attempt.signal.reason : err;
        callError = failure;
        lastError = failure;
        if (signal.aborted) throw failure;
        if (failure instanceof GrpcStatusError && CLIENT_FAULTS.has(failure.code)) throw failure;
        // A failed prefill stage: the request goes on unsplit (replayed if it got its first token).
        split = null;
        // The worker is draining either way: it takes nothing new until its state says so.
        worker.quarantinedUntilMs = Date.now() + FAILED_WORKER_QUARANTINE_MS;
        handoverTo = failure instanceof GrpcStatusError && failure.code === status.UNAVAILABLE ? handoverTargetOf(failure.metadata) : undefined;
        if (handoverTo !== undefined) {
          this.options.onFailover?.(request, "handover", worker.id);
          failoverEvent(trace, "handover", worker.id, `handed over to ${handoverTo} with its KV`);
          this.options.logger.info({ requestId: request.requestId, from: worker.id, to: handoverTo, sentTokens: sentTokens.length, ...traceLogFields(trace) }, "worker handed the request over with its KV; continuing there");
          continue;
        }
        // A worker that could not be reached (UNAVAILABLE before it sent anything, its channel failing to
        // connect: a killed process whose registry entry has not expired yet; not a worker that answered) takes nothing new until its next load report, and the attempt does
        // not count as a replay: otherwise a few dead workers still registered used up --max-replays while a
        // live one idled (the chaos suite's SIGKILL runs: 13 of 100 gave up so). Each worker is tried once anyway.
        const unreachable = !heard && failure instanceof GrpcStatusError && failure.code === status.UNAVAILABLE && cannotConnect(worker);
        if (unreachable) worker.stalled = true;
        if (sentTokens.length > 0 && !unreachable && ++replays > maxReplays) {
          const message = `gave up after ${maxReplays} replays: ${(failure as Error).message}`;
          yield { kind: "finish", finish: this.errorFinish(request, sentTokens.length, message), failure: streamFailure(message, failure) };
          return;
        }
        this.options.onFailover?.(request, sentTokens.length === 0 ? "retry" : "replay", worker.id);
        failoverEvent(trace, sentTokens.length === 0 ? "retry" : "replay", worker.id, (failure as Error).message);
        this.options.logger.warn(
          { requestId: request.requestId, workerId: worker.id, sentTokens: sentTokens.length, err: (failure as Error).message, ...traceLogFields(trace) },
          sentTokens.length === 0 ? "worker failed before the first token; retrying elsewhere" : "worker failed mid-stream; replaying elsewhere",
        );
      } finally {
        stall.stop();
        signal.removeEventListener("abort", cancelAttempt);
        worker.attempts.delete(attempt);
        endWorkerCallSpan(call.span, callError);
        worker.inFlight--;
        worker.inFlightBlocks -= blocks;
      }
    }
  }

  /**
   * Aborts `attempt` with a WorkerLostError when the worker, once its stream has sent a message, sends
   * nothing for the stall timeout, and keeps the worker out of routing until its next load report (it may
   * be hung). `watch` wraps the stream: the clock runs only while the router waits on the worker, not while
   * it hands a message on (a client that reads slowly is not a stalled worker).
   */
  private stallWatch(worker: PooledWorker, attempt: AbortController): { watch<T>(stream: AsyncIterable<T>): AsyncGenerator<T>; stop(): void } {
    const stallMs = this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    // NOTE: one timer per attempt, not one per message: a message only moves `waitingSinceMs`; the timer, when
    // it fires early, sleeps for the rest of the window. NaN: not waiting on the worker (before its first
    // message, or while a message is handed on).
    let waitingSinceMs = Number.NaN;
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      timer = undefined;
      if (Number.isNaN(waitingSinceMs)) return;
      const leftMs = waitingSinceMs + stallMs - performance.now();
      if (leftMs > 0) return schedule(leftMs);
      worker.stalled = true;
      this.options.logger.warn({ workerId: worker.id, stallMs }, "a worker's stream stalled; failing it over and skipping the worker until it reports its load again");
      attempt.abort(new WorkerLostError(worker.id, "stalled", `worker ${worker.id} sent nothing for ${stallMs} ms`));
    };
    const schedule = (ms: number): void => {
      timer = setTimeout(check, ms);
      timer.unref();
    };
    return {
      async *watch(stream) {
        for await (const message of stream) {
          waitingSinceMs = Number.NaN;
          yield message;
          waitingSinceMs = performance.now();
          if (timer === undefined) schedule(stallMs);
        }
      },
      stop: () => {
        waitingSinceMs = Number.NaN;
        clearTimeout(timer);
        timer = undefined;
      },
    };
  }

  /**
   * Has the holder move the blocks to `worker` before the request goes there;
   * waits at most as long as computing them would take (then the worker
   * computes what has not landed). Any failure only costs that wait.
   */
  /** `trace`: the request's; its context rides the migrate.request's NATS headers, so the workers' migration spans join it. */
  private async pullCache(request: RoutedRequest, worker: PooledWorker, plan: CachePullPlan, trace: Context): Promise<RouteDecision["cachePull"]> {
    if (Number.isNaN(plan.pullMs)) this.explored.add(worker.id);
    const log = { requestId: request.requestId, from: plan.holder.id, to: worker.id, blocks: plan.missingBlocks, estimatedPullMs: plan.pullMs, estimatedRecomputeMs: plan.recomputeMs };
    try {
      const result = await this.options.cachePulls!.bus.requestMigration(
        plan.holder.id,
        create(coordv1.MigrationRequestSchema, { targetWorkerId: worker.id, blockHashes: plan.hashes, requestId: request.requestId, requesterId: "router" }),
        { timeoutMs: Math.max(1, Math.ceil(plan.recomputeMs)), headers: traceHeaders(trace) },
      );
      const outcome = coordv1.MigrationOutcome[result.outcome] ?? String(result.outcome);
      this.options.logger.debug({ ...log, outcome, imported: result.done?.blocksImported ?? 0, pullMs: result.done?.durationMs }, "cache pull before dispatch");
      return { fromWorkerId: plan.holder.id, blocks: plan.missingBlocks, outcome };
    } catch (err) {
      this.options.logger.info({ ...log, err: (err as Error).message }, "cache pull did not finish in the time a recompute takes; the worker computes the rest");
      return { fromWorkerId: plan.holder.id, blocks: plan.missingBlocks, outcome: "TIMEOUT_OR_ERROR" };
    }
  }

  private errorFinish(request: RoutedRequest, completionTokens: number, message: string): inferencev1.GenerateFinish {
    const now = Date.now();
    return {
      $typeName: "sigmaserve.v1.GenerateFinish",
      finishReason: inferencev1.FinishReason.ERROR,
      matchedStop: "",
      usage: { $typeName: "sigmaserve.v1.Usage", promptTokens: request.promptTokens.length, completionTokens, cachedPromptTokens: 0 },
      timings: { $typeName: "sigmaserve.v1.Timings", queueMs: 0, ttftMs: 0, e2eMs: now - request.arrivedAtMs, meanItlMs: 0, routerMs: 0 },
      requestId: request.requestId,
      clientRequestId: request.clientRequestId,
      seed: request.sampling.seed ?? 0n,
      errorMessage: message,
      promptLogprobs: [],
    };
  }
}
