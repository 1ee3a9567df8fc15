/**
 * RequestPipeline: what both front doors (gRPC and OpenAI HTTP) share: the
 * worker pool, the KV index and selector, admission, API keys and
 * tokenizers, and one `generate` that authenticates nothing (the door did)
 * but validates, admits, normalizes and hands the request to the Dispatcher.
 *
 * Why a class of its own: the doors differ only in how a request is parsed
 * and answered, so everything between "a request arrived" and "a stream of
 * events" lives here once. It is not the router (RouterRuntime is: it also
 * owns discovery and the servers) and it does not pick workers (Dispatcher).
 */
import type { KvIndex, WorkerSelector } from "@sigmaserve/kv-index";
import { coordv1, inferencev1 } from "@sigmaserve/proto";
import type { Logger } from "pino";
import type { AdmissionController, AdmissionRelease } from "./admission/admission-controller.js";
import { OverloadedError } from "./errors.js";
import type { ApiKeys, Tenant } from "./auth/api-keys.js";
import { Dispatcher, type DispatcherOptions, type RouteDecision, type RoutedRequest, type DispatchEvent } from "./generate/dispatcher.js";
import { normalizeGenerate, type TokenizerRegistry } from "./generate/normalize-request.js";
import { publicFault } from "./generate/worker-fault.js";
import { RecentActivity } from "./metrics/recent-activity.js";
import { RouterMetrics } from "./metrics/router-metrics.js";
import type { GenAiMessage } from "./tracing/message-content.js";
import { startAdmissionSpan, startRequestSpan, type GenAiOperation } from "./tracing/request-spans.js";
import { traceLogFields, type Context } from "@sigmaserve/telemetry";
import type { WorkerPool } from "./workers/worker-pool.js";

export interface RequestPipelineOptions {
  pool: WorkerPool;
  index: KvIndex;
  selector: WorkerSelector;
  admission: AdmissionController;
  apiKeys: ApiKeys;
  tokenizers: TokenizerRegistry;
  logger: Logger;
  maxReplays?: number;
  /** A worker stream silent this long after its first message fails over, ms (dispatcher.ts). */
  stallTimeoutMs?: number;
  /** Cache pulls before dispatch (generate/cache-pull.ts); absent: never. */
  cachePulls?: DispatcherOptions["cachePulls"];
  /** Prefill/decode splits (generate/prefill-split.ts); absent: never. */
  split?: DispatcherOptions["split"];
  onRoute?: (request: RoutedRequest, decision: RouteDecision) => void;
  /** Record prompt and output text on request spans (--trace-content); default false. */
  traceContent?: boolean;
}

/** What the front door says about a request beyond the GenerateRequest, for its trace. */
export interface DoorContext {
  /** gen_ai.operation.name: "chat" for the chat door; default "text_completion". */
  operation?: GenAiOperation;
  /** The prompt as the client sent it, recorded (with --trace-content) instead of the rendered prompt; called only then. */
  inputMessages?: () => GenAiMessage[];
}

/** Per running request: what its routing decided so far. */
interface RoutingState {
  predictedCachedTokens: number;
  failovers: number;
  /** The worker of the last routing decision ("" before the first). */
  workerId: string;
}

export class RequestPipeline {
  readonly pool: WorkerPool;
  readonly index: KvIndex;
  readonly apiKeys: ApiKeys;
  readonly tokenizers: TokenizerRegistry;
  readonly admission: AdmissionController;
  readonly dispatcher: Dispatcher;
  /** The router's Prometheus series (served on the HTTP port's /metrics). */
  readonly metrics: RouterMetrics;
  /** The last minute's rate, TTFT and routing decisions (for /v1/cluster and the status page). */
  readonly recent = new RecentActivity();
  /**
   * Per running request: the prompt tokens its last routing decision expected the worker to hold (metrics
   * compare them with what the worker reports) and its failovers so far (its span reports them).
   */
  private readonly routing = new Map<string, RoutingState>();

  constructor(readonly options: RequestPipelineOptions) {
    this.pool = options.pool;
    this.index = options.index;
    this.apiKeys = options.apiKeys;
    this.tokenizers = options.tokenizers;
    this.admission = options.admission;
    this.metrics = new RouterMetrics({ admission: () => options.admission.stats, workers: () => options.pool.list() });
    this.dispatcher = new Dispatcher({
      pool: options.pool,
      index: options.index,
      selector: options.selector,
      logger: options.logger,
      ...(options.maxReplays === undefined ? {} : { maxReplays: options.maxReplays }),
      ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
      onRoute: (request, decision) => {
        this.metrics.routed(request, decision);
        this.recent.decided(request, decision);
        const blockSizeTokens = options.pool.get(decision.workerId)?.info.kvHash?.blockSizeTokens ?? 0;
        this.routingOf(request.requestId).predictedCachedTokens = decision.matchedBlocks * blockSizeTokens;
        this.routingOf(request.requestId).workerId = decision.workerId;
        options.onRoute?.(request, decision);
      },
      onFailover: (request, kind) => {
        this.metrics.failover(kind);
        this.routingOf(request.requestId).failovers++;
      },
      ...(options.cachePulls === undefined ? {} : { cachePulls: options.cachePulls }),
      ...(options.split === undefined ? {} : { split: options.split }),
    });
  }

  /**
   * Validates and normalizes one request, then admits and routes it; the slot
   * is released when the stream ends. A bad field is refused before admission;
   * a worker's refusal comes back in the public request's field names.
   */
  async *generate(request: inferencev1.GenerateRequest, tenant: Tenant, signal: AbortSignal, door: DoorContext = {}): AsyncGenerator<DispatchEvent> {
    // The model label is the served model once the request names one that exists (a client's typo must not mint series).
    const context = { model: "", tenant: tenant.id, arrivedAtMs: Date.now(), predictedCachedTokens: () => 0, replays: () => 0, requestId: "", workerId: () => "" };
    // For the access log line: read when the finish is seen (the routing state is gone once the stream ends).
    const access: { finish?: inferencev1.GenerateFinish; workerId: string; replays: number; failure?: unknown } = { workerId: "", replays: 0 };
    const span = startRequestSpan(door.operation ?? "text_completion", request, tenant.id, {
      recordContent: this.options.traceContent === true,
      ...(door.inputMessages === undefined ? {} : { inputMessages: door.inputMessages }),
    });
    try {
      for await (const event of this.metrics.observe(this.admitAndDispatch(request, tenant, signal, context, span.ctx), context)) {
        if (event.kind === "chunk") span.chunk(event.chunk);
        else {
          Object.assign(access, { finish: event.finish, workerId: context.workerId(), replays: context.replays() });
          span.finished(event.finish, context.replays());
          if (event.finish.finishReason !== inferencev1.FinishReason.ERROR) this.recent.completed(event.finish.timings?.ttftMs ?? 0);
        }
        yield event;
      }
    } catch (err) {
      access.failure = err;
      span.failed(err);
      throw err;
    } finally {
      span.end();
      this.logAccess(request, context, access, span.ctx);
    }
  }

  /**
   * The access log: one info line per request, when it ends, however it ends: status ok, error (a finish
   * with FINISH_REASON_ERROR), the error's name when it failed before a finish, or cancelled (the client left).
   */
  private logAccess(
    request: inferencev1.GenerateRequest,
    context: { model: string; tenant: string; arrivedAtMs: number; requestId: string },
    access: { finish?: inferencev1.GenerateFinish; workerId: string; replays: number; failure?: unknown },
    trace: Context,
  ): void {
    const { finish } = access;
    const status = finish !== undefined ? (finish.finishReason === inferencev1.FinishReason.ERROR ? "error" : "ok") : access.failure !== undefined ? ((access.failure as Error).name ?? "Error") : "cancelled";
    this.options.logger.info(
      {
        requestId: finish?.requestId || context.requestId,
        clientRequestId: request.clientRequestId,
        model: context.model || request.model,
        tenant: context.tenant,
        promptTokens: finish?.usage?.promptTokens ?? 0,
        completionTokens: finish?.usage?.completionTokens ?? 0,
        cachedTokens: finish?.usage?.cachedPromptTokens ?? 0,
        ttftMs: finish?.timings?.ttftMs ?? null,
        e2eMs: Date.now() - context.arrivedAtMs,
        workerId: access.workerId,
        finishReason: finish === undefined ? null : (inferencev1.FinishReason[finish.finishReason] ?? String(finish.finishReason)).toLowerCase(),
        replays: access.replays,
        status,
        ...traceLogFields(trace),
      },
      "request",
    );
  }

  private async *admitAndDispatch(
    request: inferencev1.GenerateRequest,
    tenant: Tenant,
    signal: AbortSignal,
    context: { model: string; predictedCachedTokens: () => number; replays: () => number; requestId: string; workerId: () => string },
    trace: Context,
  ): AsyncGenerator<DispatchEvent> {
    const routed = await normalizeGenerate(request, tenant, this.pool, this.tokenizers);
    context.model = routed.model;
    context.requestId = routed.requestId;
    context.workerId = () => this.routing.get(routed.requestId)?.workerId ?? "";
    context.predictedCachedTokens = () => this.routing.get(routed.requestId)?.predictedCachedTokens ?? 0;
    context.replays = () => this.routing.get(routed.requestId)?.failovers ?? 0;
    let release: AdmissionRelease;
    const admission = startAdmissionSpan(trace);
    try {
      release = await this.admission.acquire(signal, { tenant, request: routed });
    } catch (err) {
      if (err instanceof OverloadedError) this.metrics.admissionRejected();
      admission.setAttribute("error.type", (err as Error).name);
      throw err;
    } finally {
      admission.end();
    }
    /** Tokens the request used (the finish's usage), refunded against what admission reserved; unknown: none. */
    let usedTokens: number | undefined;
    try {
      for await (const event of this.dispatcher.generate(routed, signal, trace)) {
        if (event.kind === "finish" && event.finish.usage !== undefined) usedTokens = event.finish.usage.promptTokens + event.finish.usage.completionTokens;
        yield event;
      }
    } catch (err) {
      throw publicFault(err, request);
    } finally {
      release(usedTokens);
      this.routing.delete(routed.requestId);
    }
  }

  private routingOf(requestId: string): RoutingState {
    let state = this.routing.get(requestId);
    if (state === undefined) this.routing.set(requestId, (state = { predictedCachedTokens: 0, failovers: 0, workerId: "" }));
    return state;
  }

  listModels(): inferencev1.ModelSummary[] {
    return this.pool.models().map((id) => {
      const workers = this.pool.list().filter((w) => w.info.model?.id === id);
      return { ...workers[0]!.info.model!, readyWorkers: workers.filter((w) => w.load === undefined || w.load.state === coordv1.WorkerState.READY).length };
    });
  }
}
