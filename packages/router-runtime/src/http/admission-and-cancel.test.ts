import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { readFrame } from "../testing/read-sse.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

/** A reply long enough that a stream 20 ms per chunk runs for seconds. */
const SLOW = { reply: "x".repeat(400), tokensPerChunk: 1, chunkIntervalMs: 20 };

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Starts a slow stream and returns once its first text frame arrived. */
async function startSlowStream(router: TestRouter, controller: AbortController): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const res = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 400, stream: true }, { signal: controller.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = JSON.parse(await readFrame(reader, { buffer: "" }));
  assert.equal(first.choices[0].text, "x");
  return reader;
}

test("http admission - a full router answers 429 with Retry-After in whole seconds, rounded up", async () => {
  const router = await startTestRouter({ admission: { maxInFlight: 1, maxQueued: 0, retryAfterMs: 1_500 }, behaviour: SLOW });
  const controller = new AbortController();
  try {
    await startSlowStream(router, controller);
    for (const stream of [false, true]) {
      const res = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", stream });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "2");
      const { body } = await jsonOf(res);
      assert.deepEqual([body.error.type, body.error.code], ["rate_limit_error", "rate_limit_exceeded"]);
      assert.match(body.error.message, /at capacity \(1 running, 0 queued\)/);
    }
    assert.equal(router.worker!.calls.length, 1, "the refused requests never reached the worker");
  } finally {
    controller.abort();
    await router.close();
  }
});

test("http cancel - a client that disconnects mid-stream cancels the worker call and frees its slot", async () => {
  const router = await startTestRouter({ behaviour: SLOW });
  const controller = new AbortController();
  try {
    await startSlowStream(router, controller);
    assert.equal(router.pipeline.admission.stats.inFlight, 1);
    controller.abort();
    const ended = await router.worker!.calls[0]!.ended;
    assert.equal(ended.aborted, true, "the worker saw its call cancelled");
    assert.ok(ended.sentTokens < 400, `the worker stopped early, after ${ended.sentTokens} tokens`);
    await until(() => router.pipeline.admission.stats.inFlight === 0 && router.pipeline.pool.list()[0]!.inFlight === 0, "the slot is released");
  } finally {
    await router.close();
  }
});

test("http cancel - a client that gives up on a non-streaming request cancels the worker call too", async () => {
  const router = await startTestRouter({ behaviour: SLOW });
  try {
    const controller = new AbortController();
    const pending = postJson(`${router.baseUrl}/v1/chat/completions`, { model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], max_tokens: 400 }, { signal: controller.signal });
    await until(() => router.worker!.calls.length === 1, "the worker has the request");
    await sleep(50);
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    const ended = await router.worker!.calls[0]!.ended;
    assert.equal(ended.aborted, true);
    await until(() => router.pipeline.admission.stats.inFlight === 0, "the slot is released");
  } finally {
    await router.close();
  }
});

test("http cancel - a client that disconnects from an n = 3 stream cancels all three worker calls", async () => {
  const router = await startTestRouter({ behaviour: SLOW });
  const controller = new AbortController();
  try {
    const res = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 400, n: 3, stream: true }, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await readFrame(reader, { buffer: "" });
    assert.equal(router.worker!.calls.length, 3, "one worker call per choice");
    assert.equal(router.pipeline.admission.stats.inFlight, 3, "each choice holds an admission slot");
    controller.abort();
    const ended = await Promise.all(router.worker!.calls.map((call) => call.ended));
    assert.deepEqual(
      ended.map((e) => e.aborted),
      [true, true, true],
    );
    await until(() => router.pipeline.admission.stats.inFlight === 0, "every slot is released");
  } finally {
    await router.close();
  }
});

test("http admission - n choices need n slots: when not all fit, the request is a 429 and the started ones are released", async () => {
  const router = await startTestRouter({ admission: { maxInFlight: 2, maxQueued: 0, retryAfterMs: 1_000 }, behaviour: SLOW });
  try {
    const res = await postJson(`${router.baseUrl}/v1/completions`, { model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 400, n: 3 });
    assert.equal(res.status, 429);
    await until(() => router.pipeline.admission.stats.inFlight === 0, "the two admitted choices are released");
    await Promise.all(router.worker!.calls.map((call) => call.ended));
  } finally {
    await router.close();
  }
});
