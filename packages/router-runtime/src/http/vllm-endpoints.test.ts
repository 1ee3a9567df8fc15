/**
 * vLLM's extra endpoints and headers on the router's HTTP door: /health,
 * /version, /tokenize and /detokenize in vLLM's shapes (the demo byte
 * tokenizer is the oracle: BOS 256, then the UTF-8 bytes) and `x-request-id`
 * on every response. Retry-After on a 503 is checked in completions.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

const BOS = 256;

describe("vllm endpoints - against a fake worker's model", () => {
  let router: TestRouter;
  before(async () => {
    router = await startTestRouter();
  });
  after(() => router.close());

  test("vllm endpoints - /health is 200 with an empty body; /version names the package version", async () => {
    const health = await fetch(`${router.baseUrl}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "");
    const version = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
    assert.deepEqual(await jsonOf(await fetch(`${router.baseUrl}/version`)), { status: 200, body: { version } });
  });

  test("vllm endpoints - /tokenize gives the model's ids, count and context; /detokenize inverts it", async () => {
    const text = "héllo 世界";
    const { status, body } = await jsonOf(await postJson(`${router.baseUrl}/tokenize`, { model: FAKE_MODEL_ID, prompt: text }));
    assert.equal(status, 200);
    assert.deepEqual(body, { count: 1 + Buffer.byteLength(text), max_model_len: 2048, tokens: [BOS, ...Buffer.from(text)] });
    const bare = await jsonOf(await postJson(`${router.baseUrl}/tokenize`, { model: FAKE_MODEL_ID, prompt: text, add_special_tokens: false }));
    assert.deepEqual(bare.body.tokens, [...Buffer.from(text)]);
    assert.deepEqual(await jsonOf(await postJson(`${router.baseUrl}/detokenize`, { model: FAKE_MODEL_ID, tokens: bare.body.tokens })), { status: 200, body: { prompt: text } });
    // Chat messages go through the model's template, as /v1/chat/completions renders them.
    const chat = await jsonOf(await postJson(`${router.baseUrl}/tokenize`, { model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }] }));
    assert.deepEqual(chat.body.tokens, [BOS, ...Buffer.from("<|user|>\nHi\n<|assistant|>\n")]);
  });

  test("vllm endpoints - bad bodies are 400s naming the field; an unknown model is 404", async () => {
    const cases: [string, unknown, string | null, RegExp][] = [
      ["/tokenize", { model: FAKE_MODEL_ID }, "prompt", /prompt: is required/],
      ["/tokenize", { model: FAKE_MODEL_ID, prompt: "x", extra: 1 }, "extra", /^extra: is not a parameter of this request/],
      ["/tokenize", { model: FAKE_MODEL_ID, messages: [] }, "messages", /must hold at least one message/],
      ["/detokenize", { model: FAKE_MODEL_ID, tokens: [1, -2] }, "tokens[1]", /must be >= 0/],
      ["/detokenize", { model: FAKE_MODEL_ID, tokens: [99_999] }, "tokens", /not in the vocabulary/],
    ];
    for (const [path, body, param, message] of cases) {
      const res = await jsonOf(await postJson(`${router.baseUrl}${path}`, body));
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.param, param, JSON.stringify(body));
      assert.match(res.body.error.message, message);
    }
    const unknown = await jsonOf(await postJson(`${router.baseUrl}/tokenize`, { model: "nope", prompt: "x" }));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "model_not_found");
  });

  test("vllm endpoints - every response carries x-request-id: the client's own when it is sane, else a fresh one", async () => {
    const own = await fetch(`${router.baseUrl}/v1/models`, { headers: { "x-request-id": "trace-abc-123" } });
    assert.equal(own.headers.get("x-request-id"), "trace-abc-123");
    const made = await fetch(`${router.baseUrl}/v1/models`, { headers: { "x-request-id": "bad id with spaces" } });
    assert.match(made.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    const missing = await fetch(`${router.baseUrl}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/, "errors carry it too");
  });
});
