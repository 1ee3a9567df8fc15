/**
 * The router's /metrics after real HTTP requests through a real router to a
 * fake worker over gRPC: every figure is checked against what the responses
 * themselves said (usage, status codes) and what the router was set up with.
 */
import { parseExposition, sample } from "@sigmaserve/telemetry";
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { startTestRouter } from "../testing/test-router.js";

test("router metrics - requests by status and error type, client-side latencies, routing, cache hits and tenants", async () => {
  const router = await startTestRouter({ apiKeys: "k-alpha=alpha", behaviour: { cachedPromptTokens: 16 } });
  try {
    const headers = { authorization: "Bearer k-alpha" };
    const usages: { prompt_tokens: number; completion_tokens: number }[] = [];
    for (const prompt of ["first prompt", "second prompt, a little longer"]) {
      const response = await jsonOf(await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt, max_tokens: 8 }, { headers }));
      assert.equal(response.status, 200);
      usages.push(response.body.usage);
    }
    const bad = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "x", temperature: -1 }, { headers });
    assert.equal(bad.status, 400);
    const unknown = await postJson(`${router.baseUrl}/v1/completions`, { model: "no-such-model", prompt: "x" }, { headers });
    assert.equal(unknown.status, 404);

    const response = await fetch(`${router.baseUrl}/metrics`);
    assert.equal(response.status, 200, "/metrics needs no API key");
    const series = parseExposition(await response.text());
    const model = { model: FAKE_MODEL_ID };
    assert.equal(sample(series, "sigmaserve_router_requests_total", { ...model, status: "ok" }), 2);
    // An unknown model reaches the pipeline and is counted (under the gRPC status the edge maps it to) without minting a series for the name.
    assert.equal(sample(series, "sigmaserve_router_requests_total", { model: "", status: "error", error_type: "INVALID_ARGUMENT" }), 1);
    assert.ok(![...series.keys()].some((key) => key.includes("no-such-model")));
    // The HTTP door counts every request by route and code, the one refused while parsing included.
    assert.equal(sample(series, "sigmaserve_router_http_requests_total", { route: "/v1/completions", code: "200" }), 2);
    assert.equal(sample(series, "sigmaserve_router_http_requests_total", { route: "/v1/completions", code: "400" }), 1);
    assert.equal(sample(series, "sigmaserve_router_http_requests_total", { route: "/v1/completions", code: "404" }), 1);
    assert.equal(sample(series, "sigmaserve_router_time_to_first_token_seconds_count", model), 2);
    assert.equal(sample(series, "sigmaserve_router_e2e_request_latency_seconds_count", model), 2);
    assert.equal(sample(series, "sigmaserve_router_routing_decisions_total", { policy: "round_robin" }), 2);
    assert.equal(sample(series, "sigmaserve_router_cached_tokens_total", model), 32);
    assert.equal(sample(series, "sigmaserve_router_tenant_requests_total", { tenant: "alpha", status: "ok" }), 2);
    assert.equal(sample(series, "sigmaserve_router_tenant_tokens_total", { tenant: "alpha", type: "input" }), usages.reduce((sum, u) => sum + u.prompt_tokens, 0));
    assert.equal(sample(series, "sigmaserve_router_tenant_tokens_total", { tenant: "alpha", type: "output" }), usages.reduce((sum, u) => sum + u.completion_tokens, 0));
    assert.equal(sample(series, "sigmaserve_router_workers", { state: "ready" }), 1);
    assert.equal(sample(series, "sigmaserve_router_requests_in_flight"), 0);
    assert.equal(sample(series, "sigmaserve_router_requests_queued"), 0);
    assert.ok(![...series.keys()].some((key) => key.includes("k-alpha")), "no API key appears in any series");
  } finally {
    await router.close();
  }
});

test("router metrics - a request refused by admission control is counted as a rejection and as RESOURCE_EXHAUSTED", async () => {
  const router = await startTestRouter({ admission: { maxInFlight: 1, maxQueued: 0 }, behaviour: { tokensPerChunk: 1, chunkIntervalMs: 40 } });
  try {
    const running = postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "slow", max_tokens: 8 });
    // Wait until the first request holds the only slot.
    while (router.pipeline.admission.stats.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "refused" });
    assert.equal(refused.status, 429);
    assert.equal((await running).status, 200);
    const series = parseExposition(await router.pipeline.metrics.registry.metrics());
    assert.equal(sample(series, "sigmaserve_router_admission_rejections_total"), 1);
    assert.equal(sample(series, "sigmaserve_router_requests_total", { status: "error", error_type: "RESOURCE_EXHAUSTED" }), 1);
    assert.equal(sample(series, "sigmaserve_router_requests_total", { status: "ok" }), 1);
  } finally {
    await router.close();
  }
});
