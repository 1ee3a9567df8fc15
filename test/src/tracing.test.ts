/**
 * One request's trace across real processes: the router and two workers
 * export spans over OTLP/HTTP to a receiver in the test. The tree must be
 * router SERVER (`chat sigma-tiny`, GenAI attributes) → admission, route,
 * worker CLIENT → worker SERVER → queue / prefill / decode, all under one
 * trace id; the usage on the spans must be what the response reported; and
 * a worker killed mid-stream must show as a failover event on the router's
 * span (and in the router's log line, with the trace id).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./testing/otlp-receiver.js";

const SERVER = 2;
const CLIENT = 3;
let receiver: OtlpReceiver;
let cluster: Cluster;

before(async () => {
  receiver = await startOtlpReceiver();
  // Export batches every 100 ms (the SDK's default waits 5 s), through the processes' environment.
  process.env["OTEL_BSP_SCHEDULE_DELAY"] = "100";
  cluster = await startCluster({ workers: 2, workerFlags: ["--otlp-endpoint", receiver.url, "--metrics-port", "0"], routerFlags: ["--otlp-endpoint", receiver.url] });
});

after(async () => {
  delete process.env["OTEL_BSP_SCHEDULE_DELAY"];
  await cluster?.stop();
  await receiver?.close();
});

const chat = (content: string, maxTokens: number, stream = false) =>
  fetch(`http://${cluster.httpAddress}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content }], max_tokens: maxTokens, ignore_eos: true, stream, seed: 11 }),
  });

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);

test("tracing - one request's tree: router SERVER → admission, route, worker CLIENT → worker SERVER → queue, prefill, decode, one trace id", async () => {
  const response = await chat("Where is the lighthouse?", 6);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { id: string; usage: { prompt_tokens: number; completion_tokens: number } };
  const spans = await receiver.waitFor((all) => {
    const root = all.find((s) => s.name === "chat sigma-tiny" && s.kind === SERVER);
    return root !== undefined && all.some((s) => s.traceId === root.traceId && s.name === "decode");
  });
  const root = spans.find((s) => s.name === "chat sigma-tiny")!;
  assert.equal(root.service, "sigmaserve-router");
  assert.equal(root.parentSpanId, "", "the router's span is the trace's root");
  assert.equal(root.attributes["gen_ai.operation.name"], "chat");
  assert.equal(root.attributes["gen_ai.request.model"], "sigma-tiny");
  assert.equal(root.attributes["gen_ai.request.max_tokens"], 6);
  assert.equal(root.attributes["gen_ai.request.seed"], 11);
  assert.deepEqual(root.attributes["gen_ai.response.finish_reasons"], ["length"]);
  assert.equal(root.attributes["gen_ai.usage.input_tokens"], body.usage.prompt_tokens);
  assert.equal(root.attributes["gen_ai.usage.output_tokens"], body.usage.completion_tokens);
  assert.equal(root.attributes["sigmaserve.replays"], 0);
  assert.ok(!JSON.stringify(spans.filter((s) => s.traceId === root.traceId).map((s) => [s.attributes, s.events])).includes("lighthouse"), "no span records the prompt's text");

  const children = childrenOf(spans, root);
  assert.deepEqual(children.map((s) => s.name).sort(), ["admission", "route", "sigmaserve.worker.v1.WorkerService/Generate"]);
  const route = children.find((s) => s.name === "route")!;
  assert.equal(route.attributes["sigmaserve.policy"], "kv_aware");
  assert.equal((route.attributes["sigmaserve.candidates"] as string[]).length, 2, "both workers were scored");
  for (const key of ["sigmaserve.policy", "sigmaserve.worker_id", "sigmaserve.matched_blocks", "sigmaserve.candidates"]) {
    assert.deepEqual(root.attributes[key], route.attributes[key], `the request's span carries the decision's ${key}`);
  }
  const call = children.find((s) => s.kind === CLIENT)!;
  assert.equal(call.attributes["sigmaserve.worker_id"], route.attributes["sigmaserve.worker_id"]);

  const workerSpan = childrenOf(spans, call).find((s) => s.kind === SERVER);
  assert.ok(workerSpan, "the worker continued the trace under the router's CLIENT span");
  assert.equal(workerSpan.service, "sigmaserve-worker");
  assert.equal(workerSpan.attributes["sigmaserve.worker_id"], call.attributes["sigmaserve.worker_id"]);
  assert.equal(workerSpan.attributes["gen_ai.usage.output_tokens"], body.usage.completion_tokens);
  const phases = childrenOf(spans, workerSpan);
  assert.deepEqual(phases.map((s) => s.name).sort(), ["decode", "prefill", "queue"]);
  const [queue, prefill, decode] = ["queue", "prefill", "decode"].map((name) => phases.find((s) => s.name === name)!);
  assert.ok(queue!.endNs <= prefill!.startNs + 1_000_000n && prefill!.endNs <= decode!.startNs + 1_000_000n, "the phases follow one another");
  assert.equal(decode!.attributes["sigmaserve.tokens"], body.usage.completion_tokens);
  // The prompt's chunks are events on the prefill phase; the last one computed the whole prompt.
  const chunks = prefill!.events.filter((e) => e.name === "prefill_chunk");
  assert.ok(chunks.length >= 1);
  assert.equal(chunks.at(-1)!.attributes["sigmaserve.computed"], body.usage.prompt_tokens);
  assert.equal(workerSpan.attributes["sigmaserve.preemptions"], 0);
  assert.ok(workerSpan.startNs >= call.startNs && workerSpan.endNs <= root.endNs, "the worker's span lies inside the router's");
});

test("tracing - a worker killed mid-stream is a failover event on the request's span, and the router's log line carries the trace id", async () => {
  const response = await chat("Tell me a long story.", 400, true);
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  await reader.read();
  // The worker running it: the one whose /metrics shows a running request.
  let victim: number | undefined;
  while (victim === undefined) {
    for (const [i, w] of cluster.workers.entries()) {
      const text = await (await fetch(`http://${String(w.ready["metricsAddress"])}/metrics`)).text();
      if (/^vllm:num_requests_running\{[^}]*\} 1$/m.test(text)) victim = i;
    }
  }
  await cluster.workers[victim]!.kill("SIGKILL");
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  assert.match(text, /"finish_reason":"length"/, "the stream completed on the other worker");

  const spans = await receiver.waitFor((all) => all.some((s) => s.name === "chat sigma-tiny" && s.events.some((e) => e.name === "failover")));
  const root = spans.find((s) => s.name === "chat sigma-tiny" && s.events.some((e) => e.name === "failover"))!;
  const failover = root.events.find((e) => e.name === "failover")!;
  assert.equal(failover.attributes["sigmaserve.failover.kind"], "replay");
  assert.equal(failover.attributes["sigmaserve.failover.from_worker_id"], `w${victim}`);
  assert.equal(root.attributes["sigmaserve.replays"], 1);
  const calls = childrenOf(spans, root).filter((s) => s.kind === CLIENT);
  assert.equal(calls.length, 2, "one worker call per attempt");
  assert.equal(calls.filter((s) => s.status.code === 2).length, 1, "the killed call ended in error");
  const logLine = cluster.router.logs.find((l) => l["msg"] === "worker failed mid-stream; replaying elsewhere");
  assert.equal(logLine?.["trace_id"], root.traceId);
});
