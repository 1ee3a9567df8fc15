/**
 * A Generate call's SERVER span on the worker, continuing the router's trace
 * from the `traceparent` in the call's metadata, with children for the
 * request's phases: `queue` (until the scheduler first ran it), `prefill`
 * (until its first token) and `decode` (first token to finish, with the
 * tokens and steps it took). The phases are recorded with their real start
 * and end times when the request finishes, from the timings the scheduler
 * measured; each chunk of the prompt computed in one step is a
 * `prefill_chunk` event on the prefill phase. A preemption (the request's
 * blocks dropped, to be computed again) is a `preempted` child from the drop
 * to the end of the first step that computed it again (or to the finish), with
 * the computed tokens it dropped; a handover is an event on the span.
 * Prompt and output text are never recorded.
 */
import { SpanKind, SpanStatusCode, extractTraceContext, trace, type HeaderCarrier, type Span } from "@sigmaserve/telemetry";
import type { RequestFinish, RequestProgress, RequestSink, SubmitRequest, TokenChunk } from "../scheduler/engine-request.js";

const tracer = trace.getTracer("sigmaserve-worker");

export interface GenerateSpan {
  /** A sink that records the request's phases on the way to `sink`. */
  track(sink: RequestSink): RequestSink;
  /** Ends the span, with the error the call failed with, if any. */
  end(error?: unknown): void;
}

export function startGenerateSpan(metadata: HeaderCarrier, submit: SubmitRequest, workerId: string, model: string): GenerateSpan {
  const startedAtMs = Date.now();
  const remote = extractTraceContext(metadata);
  const span: Span = tracer.startSpan(
    "sigmaserve.worker.v1.WorkerService/Generate",
    {
      kind: SpanKind.SERVER,
      startTime: startedAtMs,
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": "sigmaserve.worker.v1.WorkerService",
        "rpc.method": "Generate",
        "gen_ai.request.model": model,
        "gen_ai.response.id": submit.requestId,
        "sigmaserve.worker_id": workerId,
        "sigmaserve.prompt_tokens": submit.promptTokens.length,
        "sigmaserve.replayed_tokens": submit.replayTokens?.length ?? 0,
      },
    },
    remote,
  );
  const parent = trace.setSpan(remote, span);
  let ended = false;
  return {
    track(sink) {
      let chunks = 0;
      let tokens = 0;
      const prefillChunks: Extract<RequestProgress, { kind: "prefill_chunk" }>[] = [];
      const preemptions: Preemption[] = [];
      return {
        onProgress: (progress: RequestProgress) => {
          const last = preemptions.at(-1);
          if (progress.kind === "prefill_chunk") {
            prefillChunks.push(progress);
            if (last !== undefined && last.resumedAtMs === undefined) last.resumedAtMs = progress.atMs;
          } else preemptions.push({ atMs: progress.atMs, computedBefore: progress.computedBefore, resumedAtMs: undefined });
          sink.onProgress?.(progress);
        },
        onChunk: (chunk: TokenChunk) => {
          chunks++;
          tokens += chunk.tokenIds.length;
          sink.onChunk(chunk);
        },
        onFinish: (finish: RequestFinish) => {
          span.setAttribute("sigmaserve.preemptions", preemptions.length);
          recordPhases(span, parent, startedAtMs, submit, finish, { chunks, tokens }, prefillChunks, preemptions);
          sink.onFinish(finish);
        },
      };
    },
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      span.end();
    },
  };
}

interface Preemption {
  atMs: number;
  computedBefore: number;
  /** The end of the first step that computed the request again; undefined until then. */
  resumedAtMs: number | undefined;
}

function recordPhases(
  span: Span,
  parent: ReturnType<typeof trace.setSpan>,
  startedAtMs: number,
  submit: SubmitRequest,
  finish: RequestFinish,
  counts: { chunks: number; tokens: number },
  prefillChunks: readonly Extract<RequestProgress, { kind: "prefill_chunk" }>[],
  preemptions: readonly Preemption[],
): void {
  const { timings, usage } = finish;
  // Timings count from the router's arrival; the worker's phases start no earlier than the call did.
  const arrivedAtMs = submit.arrivedAtUnixMs ?? startedAtMs;
  const at = (offsetMs: number) => Math.max(startedAtMs, arrivedAtMs + offsetMs);
  const phase = (name: string, from: number, to: number, attributes: Record<string, number> = {}, events: readonly { name: string; attributes: Record<string, number>; atMs: number }[] = []) => {
    const child = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: from, attributes }, parent);
    for (const event of events) child.addEvent(event.name, event.attributes, event.atMs);
    child.end(Math.max(from, to));
  };
  phase("queue", startedAtMs, at(timings.queueMs));
  if (usage.completionTokens > 0) {
    const chunkEvents = prefillChunks.map((c) => ({ name: "prefill_chunk", attributes: { "sigmaserve.tokens": c.tokens, "sigmaserve.computed": c.computed, "sigmaserve.known": c.known }, atMs: c.atMs }));
    phase("prefill", at(timings.queueMs), at(timings.ttftMs), { "sigmaserve.prompt_tokens": usage.promptTokens, "sigmaserve.cached_tokens": usage.cachedPromptTokens, "sigmaserve.chunks": prefillChunks.length }, chunkEvents);
    phase("decode", at(timings.ttftMs), at(timings.e2eMs), { "sigmaserve.tokens": counts.tokens, "sigmaserve.steps": counts.chunks });
  }
  for (const p of preemptions) phase("preempted", p.atMs, p.resumedAtMs ?? at(timings.e2eMs), { "sigmaserve.computed_tokens_dropped": p.computedBefore });
  span.setAttributes({
    "gen_ai.response.finish_reasons": [finish.reason],
    "gen_ai.usage.input_tokens": usage.promptTokens,
    "gen_ai.usage.output_tokens": usage.completionTokens,
    "sigmaserve.cached_tokens": usage.cachedPromptTokens,
    "sigmaserve.queue_ms": timings.queueMs,
    "sigmaserve.ttft_ms": timings.ttftMs,
  });
  if (finish.reason === "handover") span.addEvent("handover", { "sigmaserve.tokens": counts.tokens });
  if (finish.reason === "error") span.setStatus({ code: SpanStatusCode.ERROR, message: finish.errorMessage ?? "error" });
}
