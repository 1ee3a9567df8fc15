/**
 * The router's spans below a request's SERVER span (request-spans.ts): one
 * `route` span per routing decision (policy, every candidate's cost, the
 * chosen worker, matched blocks), one CLIENT span per worker call, whose
 * context travels to the worker as `traceparent` in the call's metadata, and
 * a `failover` event on the request's span each time it moves on (retry,
 * replay, handover, with the reason). Parents are passed explicitly: an async
 * generator resumes in its consumer's context, not in the request's.
 */
import { SpanKind, SpanStatusCode, trace, traceHeaders, type Attributes, type Context, type Span } from "@sigmaserve/telemetry";
import type { RouteDecision } from "../generate/dispatcher.js";

const tracer = trace.getTracer("sigmaserve-router");

/**
 * Times one routing decision; `end` records what it chose, on the route span and on the request's span (where the
 * last decision stands, so a search over request spans finds them by worker or policy without opening the tree).
 */
export function startRouteSpan(parent: Context): { end(decision: RouteDecision | null): void } {
  const span = tracer.startSpan("route", { kind: SpanKind.INTERNAL }, parent);
  return {
    end(decision) {
      if (decision === null) span.setStatus({ code: SpanStatusCode.ERROR, message: "no worker can serve the request" });
      else {
        const attributes: Attributes = {
          "sigmaserve.policy": decision.policy,
          "sigmaserve.worker_id": decision.workerId,
          "sigmaserve.matched_blocks": decision.matchedBlocks,
          "sigmaserve.candidates": (decision.candidates ?? []).map((c) => `${c.workerId} cost=${Number(c.cost.toFixed(3))}${c.eligible ? "" : " ineligible"}`),
          ...(decision.cachePull === undefined
            ? {}
            : { "sigmaserve.cache_pull.from": decision.cachePull.fromWorkerId, "sigmaserve.cache_pull.blocks": decision.cachePull.blocks, "sigmaserve.cache_pull.outcome": decision.cachePull.outcome }),
        };
        span.setAttributes(attributes);
        trace.getSpan(parent)?.setAttributes(attributes);
      }
      span.end();
    },
  };
}

/** A CLIENT span for a call to a worker, and the metadata that carries its context there. */
export function startWorkerCallSpan(parent: Context, worker: { id: string; address: string }, stage: string): { span: Span; metadata: Record<string, string> } {
  const span = tracer.startSpan(
    "sigmaserve.worker.v1.WorkerService/Generate",
    { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.service": "sigmaserve.worker.v1.WorkerService", "rpc.method": "Generate", "server.address": worker.address, "sigmaserve.worker_id": worker.id, "sigmaserve.stage": stage } },
    parent,
  );
  return { span, metadata: traceHeaders(trace.setSpan(parent, span)) };
}

/** Ends a worker call's span: OK, or an error with its message. */
export function endWorkerCallSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
  }
  span.end();
}

/** Records on the request's span that it moved to another worker. */
export function failoverEvent(parent: Context, kind: string, fromWorkerId: string, reason: string): void {
  trace.getSpan(parent)?.addEvent("failover", { "sigmaserve.failover.kind": kind, "sigmaserve.failover.from_worker_id": fromWorkerId, "sigmaserve.failover.reason": reason });
}
