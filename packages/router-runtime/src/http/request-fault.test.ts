/**
 * A request's own fault never counts against a worker. The bug this pins:
 * `temperature: 1e300` passed the HTTP schema (a finite JSON number >= 0),
 * could not be serialised as the wire's float32 on the way to the worker,
 * was taken for a worker failure, and quarantined every worker for 2 s, so
 * every other client got 503. Now the router refuses it before admission,
 * naming the field, and the workers never see it.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR, FakeWorker } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

describe("http - a request's own fault never quarantines a worker", () => {
  let router: TestRouter;
  let second: FakeWorker;
  const workers = (): FakeWorker[] => [router.worker!, second];
  before(async () => {
    router = await startTestRouter();
    second = await FakeWorker.start({ workerId: "fake-worker-2" });
    router.pipeline.pool.upsert(second.workerInfo());
  });
  after(async () => {
    await router.close();
    await second.stop();
  });
  beforeEach(() => {
    for (const worker of workers()) {
      worker.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
      worker.calls.length = 0;
    }
  });

  for (const endpoint of ["completions", "chat/completions"] as const) {
    test(`http ${endpoint} - temperature 1e300 is a 400 naming temperature; no worker is called or quarantined; the next client is served`, async () => {
      const prompt = endpoint === "completions" ? { prompt: "Hi" } : { messages: [{ role: "user", content: "Hi" }] };
      const url = `${router.baseUrl}/v1/${endpoint}`;
      const bad = await jsonOf(await postJson(url, { model: "sigma-tiny", ...prompt, max_tokens: 4, temperature: 1e300 }));
      assert.deepEqual(bad, {
        status: 400,
        body: {
          error: {
            message: "temperature: must be at most 3.4028234663852886e+38 (the largest float32), got 1e+300",
            type: "invalid_request_error",
            param: "temperature",
            code: null,
          },
        },
      });
      assert.deepEqual(
        workers().map((w) => w.calls.length),
        [0, 0],
        "refused before routing",
      );
      assert.deepEqual(
        router.pipeline.pool.list().map((w) => w.quarantinedUntilMs),
        [0, 0],
        "no worker quarantined",
      );
      const good = await jsonOf(await postJson(url, { model: "sigma-tiny", ...prompt, max_tokens: 5, temperature: 0 }));
      assert.equal(good.status, 200);
      assert.equal(good.body.usage.completion_tokens, 5);
    });
  }
});
