import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

describe("http server - models, probes, cluster status and routing", () => {
  let router: TestRouter;
  before(async () => {
    router = await startTestRouter({ maxBodyBytes: 1024 });
  });
  after(() => router.close());

  test("http server - GET /v1/models lists the served model in OpenAI's shape", async () => {
    assert.deepEqual(await jsonOf(await fetch(`${router.baseUrl}/v1/models`)), {
      status: 200,
      body: {
        object: "list",
        data: [{ id: FAKE_MODEL_ID, object: "model", created: 1_700_000_000, owned_by: "sigmaserve", max_model_len: 2048, tokenizer: "byte", vocab_size: 259, ready_workers: 1 }],
      },
    });
    const one = await jsonOf(await fetch(`${router.baseUrl}/v1/models/${FAKE_MODEL_ID}`));
    assert.equal(one.body.id, FAKE_MODEL_ID);
    const unknown = await jsonOf(await fetch(`${router.baseUrl}/v1/models/nope`));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "model_not_found");
  });

  test("http server - /healthz and /readyz are 200 with a routable worker", async () => {
    assert.deepEqual(await jsonOf(await fetch(`${router.baseUrl}/healthz`)), { status: 200, body: { status: "ok" } });
    assert.deepEqual(await jsonOf(await fetch(`${router.baseUrl}/readyz`)), { status: 200, body: { status: "ready", ready: true, routable_workers: 1, registered_workers: 1 } });
  });

  test("http server - /v1/cluster shows workers with K and V usage per tier, router load, admission and the index", async () => {
    const worker = router.worker!;
    router.pipeline.pool.updateLoad(worker.workerLoad());
    const { status, body } = await jsonOf(await fetch(`${router.baseUrl}/v1/cluster`));
    assert.equal(status, 200);
    assert.deepEqual(body.workers, [
      {
        id: worker.workerId,
        address: worker.address,
        model: FAKE_MODEL_ID,
        epoch: "1",
        state: "ready",
        running_requests: 1,
        waiting_requests: 2,
        kv_usage: {
          k: { device: { used_blocks: 10, cached_free_blocks: 5, total_blocks: 100 } },
          v: { device: { used_blocks: 8, cached_free_blocks: 2, total_blocks: 50 }, host: { used_blocks: 3, cached_free_blocks: 0, total_blocks: 400 } },
        },
        selective_v: false,
        // 10 of 100 K blocks pinned on the device; 8 of 50 V (a plain worker: V's host tier does not count).
        kv_pressure: { k: 0.1, v: 0.16 },
        // The fake worker publishes no dtype (as workers before 16-bit pools did): f32, 8,192 + 32,768 bytes per 16 tokens.
        kv_dtype: { k: "f32", v: "f32" },
        kv_tokens_per_gib: (2 ** 30 * 16) / 40_960,
        router_in_flight: 0,
        router_in_flight_blocks: 0,
        quarantined: false,
        stalled: false,
        load_measured_at_unix_ms: 1_700_000_001_000,
      },
    ]);
    assert.deepEqual(body.router, { in_flight: 0, admission: { in_flight: 0, queued: 0 } });
    assert.deepEqual(body.index, { workers: 0, distinct_block_hashes: 0, per_worker: [] });
  });

  test("http server - an unknown path is 404 and a wrong method 405 with Allow, both in OpenAI's error shape", async () => {
    const missing = await jsonOf(await fetch(`${router.baseUrl}/v1/engines`));
    assert.equal(missing.status, 404);
    assert.deepEqual({ ...missing.body.error, message: "" }, { message: "", type: "invalid_request_error", param: null, code: "not_found" });
    const wrong = await fetch(`${router.baseUrl}/v1/completions`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal((await jsonOf(wrong)).body.error.code, "method_not_allowed");
    const post = await postJson(`${router.baseUrl}/v1/models`, {});
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET");
  });

  test("http server - HEAD is GET without a body, :params are decoded, a trailing slash or extra segment is 404, any other method 405", async () => {
    const head = await fetch(`${router.baseUrl}/v1/models/${FAKE_MODEL_ID.replace("-", "%2D")}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    assert.equal((await fetch(`${router.baseUrl}/v1/models/`)).status, 404);
    assert.equal((await fetch(`${router.baseUrl}/v1/completions/x`)).status, 404);
    const del = await fetch(`${router.baseUrl}/v1/completions`, { method: "DELETE" });
    assert.deepEqual([del.status, del.headers.get("allow"), (await jsonOf(del)).body.error.code], [405, "POST", "method_not_allowed"]);
    const headPost = await fetch(`${router.baseUrl}/v1/completions`, { method: "HEAD" });
    assert.deepEqual([headPost.status, headPost.headers.get("allow")], [405, "POST"]);
  });

  test("http server - a body must say it is JSON: text/plain and forms (what a web page can send cross-origin without a preflight) are 415", async () => {
    const body = JSON.stringify({ model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 2 });
    for (const contentType of ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await fetch(`${router.baseUrl}/v1/completions`, { method: "POST", headers: { "content-type": contentType }, body });
      assert.deepEqual(await jsonOf(res), {
        status: 415,
        body: { error: { message: `the request body must be sent as Content-Type: application/json, not ${JSON.stringify(contentType)}`, type: "invalid_request_error", param: null, code: "unsupported_media_type" } },
      });
    }
    for (const contentType of ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"]) {
      assert.equal((await fetch(`${router.baseUrl}/v1/completions`, { method: "POST", headers: { "content-type": contentType }, body })).status, 200, contentType);
    }
    // No Content-Type at all (a bare byte body): read as JSON.
    assert.equal((await fetch(`${router.baseUrl}/v1/completions`, { method: "POST", body: new TextEncoder().encode(body) })).status, 200);
    const none = await fetch(`${router.baseUrl}/v1/completions`, { method: "POST" });
    assert.equal((await jsonOf(none)).body.error.message, "the request body is empty; send a JSON object");
  });

  test("http server - a body that is not valid UTF-8 is a 400 saying where, never repaired", async () => {
    const bytes = Buffer.concat([Buffer.from(`{"model":"${FAKE_MODEL_ID}","prompt":"ab`), Buffer.from([0xff, 0xfe]), Buffer.from(`","max_tokens":2}`)]);
    const res = await fetch(`${router.baseUrl}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: bytes });
    assert.deepEqual(await jsonOf(res), {
      status: 400,
      body: { error: { message: `the request body is not valid UTF-8 (first bad byte at offset ${bytes.indexOf(0xff)})`, type: "invalid_request_error", param: null, code: "invalid_utf8" } },
    });
  });

  test("http server - a body over the limit is 413, and the connection still serves the next request", async () => {
    const big = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "x".repeat(2048) });
    assert.deepEqual(await jsonOf(big), {
      status: 413,
      body: { error: { message: "the request body is larger than the limit of 1024 bytes", type: "invalid_request_error", param: null, code: "request_too_large" } },
    });
    assert.equal((await fetch(`${router.baseUrl}/healthz`)).status, 200);
  });
});

describe("http server - API keys", () => {
  let router: TestRouter;
  before(async () => {
    router = await startTestRouter({ apiKeys: "k1=t1" });
  });
  after(() => router.close());

  test("http server - a missing or unknown key is 401 on every /v1 endpoint; the probes need none", async () => {
    const requests: [string, RequestInit][] = [
      ["/v1/models", {}],
      ["/v1/cluster", {}],
      ["/v1/completions", { method: "POST", body: JSON.stringify({ model: FAKE_MODEL_ID, prompt: "Hi" }) }],
      ["/v1/chat/completions", { method: "POST", body: JSON.stringify({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }] }) }],
    ];
    for (const [path, init] of requests) {
      for (const headers of [{}, { authorization: "Bearer nope" }] as Record<string, string>[]) {
        const { status, body } = await jsonOf(await fetch(`${router.baseUrl}${path}`, { ...init, headers }));
        assert.equal(status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.deepEqual([body.error.type, body.error.code], ["authentication_error", "invalid_api_key"]);
      }
    }
    assert.match((await jsonOf(await fetch(`${router.baseUrl}/v1/models`))).body.error.message, /missing API key/);
    assert.equal((await fetch(`${router.baseUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${router.baseUrl}/readyz`)).status, 200);
  });

  test("http server - the right key is served, and its tenant's cache salt reaches the worker", async () => {
    const res = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 2 }, { headers: { authorization: "Bearer k1" } });
    assert.equal(res.status, 200);
    assert.equal((await jsonOf(res)).body.choices[0].text, "He");
    assert.match(router.worker!.calls[0]!.request.cacheSalt, /^[0-9a-f]{32}$/);
  });
});

describe("http server - no workers", () => {
  test("http server - /readyz is 503 with a reason, and a completion names the missing model", async () => {
    const router = await startTestRouter({ worker: false });
    try {
      assert.deepEqual(await jsonOf(await fetch(`${router.baseUrl}/readyz`)), {
        status: 503,
        body: { status: "not_ready", ready: false, routable_workers: 0, registered_workers: 0, reason: "no worker is registered" },
      });
      assert.equal((await fetch(`${router.baseUrl}/healthz`)).status, 200);
      assert.deepEqual((await jsonOf(await fetch(`${router.baseUrl}/v1/models`))).body, { object: "list", data: [] });
      const { status, body } = await jsonOf(await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi" }));
      assert.equal(status, 404);
      assert.match(body.error.message, /this cluster serves no model yet/);
    } finally {
      await router.close();
    }
  });
});
