/**
 * The router's Prometheus series, `sigmaserve_router_*`, on one registry per
 * router. Latencies are the client's view: from the router's arrival, across
 * failovers, with vLLM's bucket boundaries so a dashboard can set router and
 * worker figures side by side. Routing is counted per decision (policy,
 * chosen worker), with the cache hit the selector predicted beside the one
 * the worker reported. Tenants appear as labels only by id (never a key).
 *
 * `observe()` wraps a request's event stream; the pool and the admission
 * controller are read at scrape time.
 */
import { coordv1, inferencev1 } from "@sigmaserve/proto";
import { status as grpcStatus } from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, INTER_TOKEN_LATENCY_BUCKETS_S, processRegistry, REQUEST_LATENCY_BUCKETS_S, TTFT_BUCKETS_S } from "@sigmaserve/telemetry";
import type { DispatchEvent, RouteDecision, RoutedRequest } from "../generate/dispatcher.js";
import { toGrpcStatus } from "../grpc/to-grpc-status.js";
import type { TenantLimit } from "../errors.js";

export interface RouterMetricsSources {
  admission: () => { inFlight: number; queued: number };
  workers: () => readonly { load?: { state: coordv1.WorkerState } | undefined; quarantinedUntilMs: number }[];
}

/** Why a request went to another worker: before its first token, mid-stream (its tokens replayed), or handed over with its KV. */
export type FailoverKind = "retry" | "replay" | "handover";

export class RouterMetrics {
  /** This process's series and prom-client's default process series (memory, CPU, heap, event loop). */
  readonly registry = processRegistry();
  /** Admission rejections since start, as a plain number (the autoscaler reads its increase per interval). */
  rejectedTotal = 0;
  private readonly requests: Counter;
  private readonly rejections: Counter;
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly e2e: Histogram;
  private readonly decisions: Counter;
  private readonly predictedCached: Counter;
  private readonly cached: Counter;
  private readonly failovers: Counter;
  private readonly tenantRequests: Counter;
  private readonly tenantTokens: Counter;
  private readonly tenantLimitedCounter: Counter;
  private readonly http: Counter;

  constructor(sources: RouterMetricsSources) {
    const registers = [this.registry];
    this.requests = new Counter({ name: "sigmaserve_router_requests_total", help: "Requests the router answered, by model, status (ok|error) and error type (a gRPC status name, or finish_error).", labelNames: ["model", "status", "error_type"], registers });
    this.rejections = new Counter({ name: "sigmaserve_router_admission_rejections_total", help: "Requests refused by admission control (the router at capacity: RESOURCE_EXHAUSTED / HTTP 429).", registers });
    new Gauge({
      name: "sigmaserve_router_requests_in_flight",
      help: "Requests admitted and running.",
      registers,
      collect() {
        this.set(sources.admission().inFlight);
      },
    });
    new Gauge({
      name: "sigmaserve_router_requests_queued",
      help: "Requests waiting for admission.",
      registers,
      collect() {
        this.set(sources.admission().queued);
      },
    });
    new Gauge({
      name: "sigmaserve_router_workers",
      help: "Workers the router knows, by state (starting|ready|draining|drained, or quarantined after a failed call).",
      labelNames: ["state"],
      registers,
      collect() {
        const now = Date.now();
        const counts = new Map<string, number>(["starting", "ready", "draining", "drained", "quarantined"].map((s) => [s, 0]));
        for (const w of sources.workers()) {
          const state = w.quarantinedUntilMs > now ? "quarantined" : workerStateName(w.load?.state ?? coordv1.WorkerState.READY);
          counts.set(state, (counts.get(state) ?? 0) + 1);
        }
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
    const seconds = (name: string, help: string, buckets: readonly number[]) => new Histogram({ name, help, labelNames: ["model"], buckets: [...buckets], registers });
    this.ttft = seconds("sigmaserve_router_time_to_first_token_seconds", "Time to first token as the client sees it (from the router's arrival), seconds.", TTFT_BUCKETS_S);
    this.itl = seconds("sigmaserve_router_inter_token_latency_seconds", "Gap between tokens as the client sees them, seconds.", INTER_TOKEN_LATENCY_BUCKETS_S);
    this.e2e = seconds("sigmaserve_router_e2e_request_latency_seconds", "Request latency from the router's arrival to the finish, seconds.", REQUEST_LATENCY_BUCKETS_S);
    this.decisions = new Counter({ name: "sigmaserve_router_routing_decisions_total", help: "Routing decisions, by policy and chosen worker (a failover makes another).", labelNames: ["policy", "worker"], registers });
    this.predictedCached = new Counter({ name: "sigmaserve_router_predicted_cached_tokens_total", help: "Prompt tokens the selector expected the chosen worker to hold (matched blocks x block size), per decision that led to a finish.", labelNames: ["model"], registers });
    this.cached = new Counter({ name: "sigmaserve_router_cached_tokens_total", help: "Prompt tokens the workers reported served from their prefix cache.", labelNames: ["model"], registers });
    this.failovers = new Counter({ name: "sigmaserve_router_failovers_total", help: "Requests moved to another worker: retry (before the first token), replay (mid-stream, tokens replayed), handover (with its KV, a drain).", labelNames: ["kind"], registers });
    this.tenantRequests = new Counter({ name: "sigmaserve_router_tenant_requests_total", help: "Requests per tenant, by status.", labelNames: ["tenant", "status"], registers });
    this.http = new Counter({ name: "sigmaserve_router_http_requests_total", help: "HTTP requests by route (as registered; unmatched for any other path) and status code, refusals before the pipeline included.", labelNames: ["route", "code"], registers });
    this.tenantTokens = new Counter({ name: "sigmaserve_router_tenant_tokens_total", help: "Tokens per tenant, by type (input|output).", labelNames: ["tenant", "type"], registers });
    this.tenantLimitedCounter = new Counter({
      name: "sigmaserve_router_tenant_limited_total",
      help: "Requests refused by their tenant's own limits (RESOURCE_EXHAUSTED / HTTP 429), by tenant and limit (in_flight|requests_per_s|tokens_per_s); not admission rejections.",
      labelNames: ["tenant", "limit"],
      registers,
    });
  }

  httpRequest(route: string, code: number): void {
    this.http.inc({ route, code: String(code) });
  }

  admissionRejected(): void {
    this.rejections.inc();
    this.rejectedTotal++;
  }

  /** A tenant's own limit refused a request (admission/tenant-gate.ts); not an admission rejection: more workers would not help. */
  tenantLimited(tenant: string, limit: TenantLimit): void {
    this.tenantLimitedCounter.inc({ tenant, limit });
  }

  routed(_request: RoutedRequest, decision: RouteDecision): void {
    this.decisions.inc({ policy: decision.policy, worker: decision.workerId });
  }

  failover(kind: FailoverKind): void {
    this.failovers.inc({ kind });
  }

  /**
   * Passes a request's events through, timing them from `arrivedAtMs` (wall
   * clock) and counting its outcome when the stream ends. `context.model` is
   * read as each figure is recorded (the request learns its model once it is
   * validated); `predictedCachedTokens` reads the last routing decision's
   * prediction at the finish.
   */
  async *observe(events: AsyncIterable<DispatchEvent>, context: { readonly model: string; tenant: string; arrivedAtMs: number; predictedCachedTokens: () => number }): AsyncGenerator<DispatchEvent> {
    const { tenant } = context;
    let last: number | undefined;
    let outcome: { status: "ok" | "error"; errorType: string } = { status: "error", errorType: "CANCELLED" };
    try {
      for await (const event of events) {
        const now = Date.now();
        const model = context.model;
        if (event.kind === "chunk" && event.chunk.tokenIds.length > 0) {
          if (last === undefined) this.ttft.observe({ model }, Math.max(0, now - context.arrivedAtMs) / 1000);
          else this.itl.observe({ model }, (now - last) / 1000 / event.chunk.tokenIds.length);
          last = now;
        } else if (event.kind === "finish") {
          const { finish } = event;
          this.e2e.observe({ model }, Math.max(0, now - context.arrivedAtMs) / 1000);
          const failed = finish.finishReason === inferencev1.FinishReason.ERROR;
          outcome = failed ? { status: "error", errorType: "finish_error" } : { status: "ok", errorType: "" };
          const usage = finish.usage;
          if (usage !== undefined) {
            this.tenantTokens.inc({ tenant, type: "input" }, usage.promptTokens);
            this.tenantTokens.inc({ tenant, type: "output" }, usage.completionTokens);
            this.cached.inc({ model }, usage.cachedPromptTokens);
          }
          this.predictedCached.inc({ model }, context.predictedCachedTokens());
        }
        yield event;
      }
    } catch (err) {
      // The status the edge will answer with (the one mapping of errors to codes).
      const code = toGrpcStatus(err).code;
      outcome = { status: "error", errorType: grpcStatus[code] ?? String(code) };
      throw err;
    } finally {
      this.requests.inc({ model: context.model, status: outcome.status, error_type: outcome.errorType });
      this.tenantRequests.inc({ tenant, status: outcome.status });
    }
  }
}

function workerStateName(state: coordv1.WorkerState): string {
  switch (state) {
    case coordv1.WorkerState.STARTING:
      return "starting";
    case coordv1.WorkerState.DRAINING:
      return "draining";
    case coordv1.WorkerState.DRAINED:
      return "drained";
    default:
      return "ready";
  }
}
