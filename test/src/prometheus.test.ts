/**
 * A real Prometheus scrapes a real cluster (router + two worker processes on
 * a real nats-server) while it serves traffic, and the figures come back
 * through Prometheus's own query API: every target up, a running request
 * seen as vllm:num_requests_running, the router's and the workers' counts of
 * the requests the test sent, and the K/V split summing to each worker's
 * capacity as its GetInfo reports it (the independent oracle).
 */
import { createGrpcClient, kvv1, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";
import { startPrometheus, type PrometheusServer } from "./testing/prometheus-server.js";

let cluster: Cluster;
let prometheus: PrometheusServer;

before(async () => {
  cluster = await startCluster({ workers: 2, workerFlags: ["--metrics-port", "0"] });
  prometheus = await startPrometheus({
    router: [cluster.httpAddress],
    workers: cluster.workers.map((w) => w.ready["metricsAddress"] as string),
  });
});

after(async () => {
  await prometheus?.stop();
  await cluster?.stop();
});

const chat = (content: string, maxTokens: number, signal?: AbortSignal) =>
  fetch(`http://${cluster.httpAddress}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content }], max_tokens: maxTokens, ignore_eos: true, stream: signal !== undefined }),
    ...(signal === undefined ? {} : { signal }),
  });

test("prometheus - scrapes the router and both workers, and reads back running requests, request counts and the K/V split", async () => {
  const up = await prometheus.waitFor("up", (result) => result.length === 3 && result.every((r) => r.value === 1));
  assert.deepEqual(up.map((r) => r.metric["job"]).sort(), ["router", "workers", "workers"]);

  // A long stream holds one request on a worker while Prometheus scrapes.
  const hold = new AbortController();
  const long = await chat("Tell me a long story about the sea.", 1900, hold.signal);
  assert.equal(long.status, 200);
  const reader = long.body!.getReader();
  await reader.read(); // its first bytes: the request is running
  await prometheus.waitFor("sum(vllm:num_requests_running)", (r) => r[0]?.value === 1);
  await prometheus.waitFor("sum(sigmaserve_router_requests_in_flight)", (r) => r[0]?.value === 1);
  hold.abort();
  await reader.cancel().catch(() => {});

  // Four short requests with one prompt: the later ones hit the prefix cache.
  let cachedTokens = 0;
  let promptTokens = 0;
  for (let i = 0; i < 4; i++) {
    const response = await chat("What is the capital of France? Answer in one word, please.", 8);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
    cachedTokens += body.usage.prompt_tokens_details.cached_tokens;
    promptTokens += body.usage.prompt_tokens;
  }
  assert.ok(cachedTokens > 0, "the repeated prompt hit the prefix cache");

  await prometheus.waitFor('sum(sigmaserve_router_requests_total{status="ok"})', (r) => r[0]?.value === 4);
  await prometheus.waitFor('sum(vllm:request_success_total{finished_reason="length"})', (r) => r[0]?.value === 4);
  await prometheus.waitFor('sum(vllm:request_success_total{finished_reason="abort"})', (r) => r[0]?.value === 1);
  await prometheus.waitFor("sum(vllm:num_requests_running)", (r) => r[0]?.value === 0);
  // The four short requests' prompts and cache hits, as the responses reported them (the aborted one adds its own prompt).
  const hits = await prometheus.waitFor("sum(vllm:prefix_cache_hits_total)", (r) => (r[0]?.value ?? 0) >= cachedTokens);
  assert.equal(hits[0]!.value, cachedTokens, "the long request was cold");
  const queries = await prometheus.query("sum(vllm:prefix_cache_queries_total)");
  assert.ok(queries[0]!.value > promptTokens, "every prompt was a query, the aborted one's too");

  // The K/V split: for each worker, component and tier, used + cached + free is the capacity GetInfo reports.
  const split = await prometheus.query("sum by (instance, component, tier) (sigmaserve_kv_blocks)");
  for (const worker of cluster.workers) {
    const client = createGrpcClient(workerv1.WorkerService, worker.ready["address"] as string);
    const { info } = await client.getInfo({});
    client.close();
    for (const capacity of info!.kvCapacity) {
      const component = capacity.component === kvv1.KvComponent.K ? "k" : "v";
      const tier = capacity.tier === kvv1.KvTier.DEVICE ? "device" : "host";
      const series = split.find((s) => s.metric["instance"] === worker.ready["metricsAddress"] && s.metric["component"] === component && s.metric["tier"] === tier);
      assert.equal(series?.value, capacity.numBlocks, `${String(worker.ready["address"])} ${component}/${tier}`);
    }
  }
  // Every cached K block has its V block: the two pools hold the same blocks in full mode.
  const cached = await prometheus.query('sum by (component) (sigmaserve_kv_blocks{state="cached",tier="device"})');
  const byComponent = Object.fromEntries(cached.map((r) => [r.metric["component"], r.value]));
  assert.ok((byComponent["k"] ?? 0) > 0);
  assert.equal(byComponent["k"], byComponent["v"]);
});

test("prometheus - every query of the Grafana dashboard runs on the live data, and the K/V panels show both components", async () => {
  const file = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "infra", "grafana", "sigmaserve-dashboard.json");
  const dashboard = JSON.parse(await readFile(file, "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      // Grafana's interval variables, as it would fill them at this scrape interval.
      const result = await prometheus.query(target.expr.replaceAll("$__rate_interval", "1m").replaceAll("$__interval", "15s"));
      if (panel.title.startsWith("K and V device usage") || panel.title.startsWith("KV blocks by state")) {
        assert.deepEqual([...new Set(result.map((r) => r.metric["component"]))].sort(), ["k", "v"], panel.title);
      }
    }
  }
});
