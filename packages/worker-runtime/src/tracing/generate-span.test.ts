/**
 * The worker's Generate span from what the scheduler reports, with a real
 * OpenTelemetry SDK keeping spans in memory: it continues the caller's trace
 * from `traceparent`, and its children are the phases at the times the
 * scheduler measured: queue, prefill (chunks as events), decode, and one
 * `preempted` child per preemption, from the drop to the first step that
 * computed the request again. The sink is fed by hand (no engine), so the
 * expected times are exactly the ones fed in.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { propagation, trace } from "@opentelemetry/api";
import { Metadata } from "@grpc/grpc-js";
import type { RequestFinish, RequestProgress, SubmitRequest, TokenChunk } from "../scheduler/engine-request.js";
import { startGenerateSpan } from "./generate-span.js";

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const ms = (span: ReadableSpan, which: "startTime" | "endTime") => span[which][0] * 1000 + span[which][1] / 1e6;

test("generate span - continues the caller's trace; queue, prefill with its chunks, decode and each preemption are children at the scheduler's times", () => {
  // Arrival a second ahead of the call's start, so no phase is clamped to the start however slow this machine is.
  const t0 = Date.now() + 1000;
  const submit = { requestId: "r1", promptTokens: [1, 2, 3, 4, 5, 6, 7, 8], params: {}, cacheSalt: "", priority: 0, arrivedAtUnixMs: t0 } as unknown as SubmitRequest;
  const metadata = new Metadata();
  metadata.set("traceparent", `00-${TRACE_ID}-${PARENT_ID}-01`);
  const generate = startGenerateSpan(metadata, submit, "w0", "sigma-tiny");
  const out: string[] = [];
  const sink = generate.track({ onChunk: (c) => out.push(`chunk ${c.tokenIds.length}`), onFinish: (f) => out.push(`finish ${f.reason}`), onProgress: (p) => out.push(p.kind) });
  const progress = (p: RequestProgress) => sink.onProgress!(p);
  const chunk = (n: number, offset: number): TokenChunk => ({ tokenIds: Array.from({ length: n }, (_, i) => i), textDelta: "", completionOffset: offset });
  progress({ kind: "prefill_chunk", tokens: 4, computed: 4, known: 8, atMs: t0 + 20 });
  progress({ kind: "preempted", computedBefore: 4, atMs: t0 + 25 });
  progress({ kind: "prefill_chunk", tokens: 8, computed: 8, known: 8, atMs: t0 + 40 });
  sink.onChunk(chunk(1, 0));
  sink.onChunk(chunk(2, 1));
  progress({ kind: "preempted", computedBefore: 11, atMs: t0 + 60 });
  // Computed again in one step of 11 tokens, then the last token.
  progress({ kind: "prefill_chunk", tokens: 11, computed: 11, known: 11, atMs: t0 + 70 });
  sink.onChunk(chunk(1, 3));
  const finish: RequestFinish = { reason: "length", usage: { promptTokens: 8, completionTokens: 4, cachedPromptTokens: 0 }, timings: { queueMs: 10, ttftMs: 45, e2eMs: 80, meanItlMs: 10 }, seed: 1n };
  sink.onFinish(finish);
  generate.end();
  assert.deepEqual(out, ["prefill_chunk", "preempted", "prefill_chunk", "chunk 1", "chunk 2", "preempted", "prefill_chunk", "chunk 1", "finish length"], "the sink downstream sees everything");

  const spans = exporter.getFinishedSpans();
  const server = spans.find((s) => s.name === "sigmaserve.worker.v1.WorkerService/Generate")!;
  assert.equal(server.spanContext().traceId, TRACE_ID);
  assert.equal(server.parentSpanContext?.spanId, PARENT_ID);
  assert.equal(server.attributes["sigmaserve.preemptions"], 2);
  assert.equal(server.attributes["gen_ai.usage.output_tokens"], 4);
  const children = spans.filter((s) => s.parentSpanContext?.spanId === server.spanContext().spanId);
  const times = children.map((s) => [s.name, ms(s, "startTime") - t0, ms(s, "endTime") - t0]).sort((a, b) => Number(a[1]) - Number(b[1]) || String(a[0]).localeCompare(String(b[0])));
  // The queue runs from the call's start (before t0 here) to t0 + queueMs.
  assert.deepEqual(times.slice(1), [
    ["prefill", 10, 45],
    ["preempted", 25, 40],
    ["decode", 45, 80],
    ["preempted", 60, 70],
  ]);
  assert.deepEqual([times[0]![0], times[0]![2]], ["queue", 10]);
  const byName = (name: string) => children.filter((s) => s.name === name);
  assert.deepEqual(byName("preempted").map((s) => s.attributes["sigmaserve.computed_tokens_dropped"]), [4, 11]);
  assert.deepEqual(byName("decode")[0]!.attributes, { "sigmaserve.tokens": 4, "sigmaserve.steps": 3 });
  assert.deepEqual(byName("prefill")[0]!.events.map((e) => e.attributes?.["sigmaserve.computed"]), [4, 8, 11]);
});

test("generate span - a preemption never computed again (cancelled while waiting) ends with the request", () => {
  exporter.reset();
  const t0 = Date.now() + 1000;
  const submit = { requestId: "r2", promptTokens: [1, 2, 3], params: {}, cacheSalt: "", priority: 0, arrivedAtUnixMs: t0 } as unknown as SubmitRequest;
  const generate = startGenerateSpan(new Metadata(), submit, "w0", "sigma-tiny");
  const sink = generate.track({ onChunk: () => {}, onFinish: () => {} });
  sink.onProgress!({ kind: "prefill_chunk", tokens: 3, computed: 3, known: 3, atMs: t0 + 5 });
  sink.onProgress!({ kind: "preempted", computedBefore: 3, atMs: t0 + 6 });
  sink.onFinish({ reason: "cancelled", usage: { promptTokens: 3, completionTokens: 0, cachedPromptTokens: 0 }, timings: { queueMs: 1, ttftMs: 0, e2eMs: 30, meanItlMs: 0 }, seed: 1n });
  generate.end();
  const preempted = exporter.getFinishedSpans().find((s) => s.name === "preempted")!;
  assert.deepEqual([ms(preempted, "startTime") - t0, ms(preempted, "endTime") - t0], [6, 30]);
});
