import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { TenantGate } from "../admission/tenant-gate.js";
import { TenantLimitError } from "../errors.js";
import { RETRY_AFTER_MS_METADATA, toGrpcStatus } from "../grpc/to-grpc-status.js";
import { FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import type { RequestPipeline } from "../request-pipeline.js";
import { startTestRouter } from "../testing/test-router.js";

test("http tenant limits - a tenant over its rate gets 429 with Retry-After from its bucket; another tenant is served", async () => {
  const counted: { pipeline?: RequestPipeline } = {};
  // The clock stands still: the bucket never refills. Refusals are counted as the router wires them (start-tenancy.ts).
  const tenants = new TenantGate({ limits: { maxInFlight: 8, maxQueued: 0, requestsPerS: 0.4, tokensPerS: 0 }, clock: () => 0, onLimited: (t, l) => counted.pipeline?.metrics.tenantLimited(t, l) });
  const router = await startTestRouter({ apiKeys: "ka=alpha,kb=beta", admission: { maxInFlight: 8, maxQueued: 0, tenants } });
  counted.pipeline = router.pipeline;
  const complete = (key: string) => postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 2 }, { headers: { authorization: `Bearer ${key}` } });
  try {
    assert.equal((await complete("ka")).status, 200);
    const refused = await complete("ka");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "3", "0.4 requests/s: the next in 2500 ms, rounded up to whole seconds");
    const { body } = await jsonOf(refused);
    assert.deepEqual(body.error, { message: 'tenant "alpha" is over its limit of 0.4 requests/s (burst 1); retry in 2500 ms', type: "rate_limit_error", param: null, code: "rate_limit_exceeded" });
    assert.equal((await complete("kb")).status, 200);
    const metrics = await router.pipeline.metrics.registry.metrics();
    assert.match(metrics, /^sigmaserve_router_tenant_limited_total\{tenant="alpha",limit="requests_per_s"\} 1$/m);
    assert.match(metrics, /^sigmaserve_router_admission_rejections_total 0$/m, "a tenant's own limit is not the router at capacity");
  } finally {
    await router.close();
  }
});

test("grpc tenant limits - a TenantLimitError is RESOURCE_EXHAUSTED with its wait in the retry-after-ms trailer", () => {
  const mapped = toGrpcStatus(new TenantLimitError('tenant "alpha" is over its limit of 2 requests/s (burst 2); retry in 500 ms', "alpha", "requests_per_s", 500));
  assert.equal(mapped.code, status.RESOURCE_EXHAUSTED);
  assert.equal(mapped.details, 'tenant "alpha" is over its limit of 2 requests/s (burst 2); retry in 500 ms');
  assert.deepEqual(mapped.metadata?.get(RETRY_AFTER_MS_METADATA), ["500"]);
});
