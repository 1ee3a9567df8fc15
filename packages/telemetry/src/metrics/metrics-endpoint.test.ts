import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Registry } from "prom-client";
import { startMetricsServer } from "./metrics-endpoint.js";
import { parseExposition, sample } from "./parse-exposition.js";
import { INTER_TOKEN_LATENCY_BUCKETS_S, TTFT_BUCKETS_S, tokenCountBuckets } from "./vllm-buckets.js";

test("metrics endpoint - GET /metrics answers the registry in Prometheus text; other paths 404, other methods 405; a failing collect is a 500, not a crash", async () => {
  const registry = new Registry();
  const counter = new Counter({ name: "demo_total", help: "a demo", labelNames: ["kind"], registers: [registry] });
  counter.inc({ kind: "a" }, 3);
  const server = await startMetricsServer(registry, { host: "127.0.0.1", port: 0 });
  try {
    const response = await fetch(`http://${server.address}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^demo_total\{kind="a"\} 3$/m);
    assert.equal(sample(parseExposition(text), "demo_total", { kind: "a" }), 3, "the parser reads back what the registry wrote");
    assert.equal(sample(parseExposition(text), "demo_total", { kind: "b" }), undefined);
    assert.equal((await fetch(`http://${server.address}/`)).status, 404);
    assert.equal((await fetch(`http://${server.address}/metrics`, { method: "DELETE" })).status, 405);
    new Counter({
      name: "broken_total",
      help: "throws at scrape time",
      registers: [registry],
      collect() {
        throw new Error("source gone");
      },
    });
    const failed = await fetch(`http://${server.address}/metrics`);
    assert.equal(failed.status, 500);
    assert.match(await failed.text(), /source gone/);
  } finally {
    await server.close();
  }
});

test("vLLM buckets - the boundaries vLLM ships, and its 1-2-5 token series up to the context", () => {
  assert.equal(TTFT_BUCKETS_S.length, 22);
  assert.deepEqual(TTFT_BUCKETS_S.slice(0, 4), [0.001, 0.005, 0.01, 0.02]);
  assert.equal(INTER_TOKEN_LATENCY_BUCKETS_S.at(-1), 80);
  assert.deepEqual(tokenCountBuckets(2048), [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 2048]);
  assert.deepEqual(tokenCountBuckets(1000), [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
});

test("metrics - a process registry carries the default process series (memory, CPU, heap) next to its own", async () => {
  const { processRegistry } = await import("./process-registry.js");
  const registry = processRegistry();
  new Counter({ name: "sigmaserve_test_total", help: "a series of the process's own", registers: [registry] }).inc();
  const text = await registry.metrics();
  for (const series of ["process_resident_memory_bytes", "process_cpu_seconds_total", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds", "sigmaserve_test_total"]) {
    assert.match(text, new RegExp(`^${series} [0-9.e+-]+$`, "m"), series);
  }
});
