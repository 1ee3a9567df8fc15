import { status } from "@grpc/grpc-js";
import { GrpcStatusError } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient, type SigmaserveClient } from "./client.js";
import { CancelledError, InternalError, UnavailableError } from "./errors.js";
import type { GenerateEvent } from "./events.js";
import { backoffDelayMs, waitBeforeRetry } from "./retry.js";
import { scriptedStream, startFakeRouter, type FakeRouter } from "./testing/fake-router.js";

const FAST_RETRY = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 4 };

describe("retry - backoff", () => {
  const policy = { maxAttempts: 10, initialBackoffMs: 100, maxBackoffMs: 1_000 };

  test("retry - the cap doubles per retry up to maxBackoffMs", () => {
    const caps = [1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, policy, () => 0.999_999));
    assert.deepEqual(
      caps.map((ms) => Math.round(ms)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
  });

  test("retry - full jitter: the wait is uniform below the cap", () => {
    assert.equal(backoffDelayMs(3, policy, () => 0), 0);
    assert.equal(backoffDelayMs(3, policy, () => 0.5), 200);
  });
});

/** Fails the first `failures` Generate attempts with UNAVAILABLE, then streams "ok". */
function flakyGenerate(failures: number) {
  return async function* (_request: unknown, context: Parameters<typeof scriptedStream>[1], attempt: number) {
    if (attempt <= failures) throw new GrpcStatusError(status.UNAVAILABLE, `no ready worker (attempt ${attempt})`);
    yield* scriptedStream(["o", "k"], context);
  };
}

describe("retry - waiting between attempts", () => {
  const policy = { maxAttempts: 10, initialBackoffMs: 60_000, maxBackoffMs: 60_000 };
  const lastError = new UnavailableError("no ready worker");

  // The 30 s backoff is never slept: the test's own timeout (not a speed assertion) catches a sleep.
  test("retry - a backoff that would outlast the deadline throws the last UNAVAILABLE at once", { timeout: 10_000 }, async () => {
    const scope = { signal: undefined, deadlineUnixMs: Date.now() + 500, metadata: {} };
    await assert.rejects(waitBeforeRetry(1, policy, scope, lastError, () => 0.5), (err) => err === lastError);
  });

  test("retry - a backoff within the deadline waits it out", async () => {
    const scope = { signal: undefined, deadlineUnixMs: Date.now() + 5_000, metadata: {} };
    const startedMs = Date.now();
    await waitBeforeRetry(1, { maxAttempts: 2, initialBackoffMs: 100, maxBackoffMs: 100 }, scope, lastError, () => 0.5);
    assert.ok(Date.now() - startedMs >= 45);
  });
});

describe("retry - against the router test double on loopback", () => {
  let router: FakeRouter;
  let client: SigmaserveClient;

  async function withRouter(script: Parameters<typeof startFakeRouter>[0], run: () => Promise<void>): Promise<void> {
    router = await startFakeRouter(script);
    client = createClient({ address: router.address, retry: FAST_RETRY });
    try {
      await run();
    } finally {
      client.close();
      await router.stop();
    }
  }

  test("retry - UNAVAILABLE twice, then success: generate succeeds on attempt 3", () =>
    withRouter({ generate: flakyGenerate(2) }, async () => {
      const completion = await client.complete({ model: "sigma-tiny", prompt: "x" });
      assert.equal(completion.text, "ok");
      assert.equal(completion.finishReason, "stop");
      assert.deepEqual(
        router.callsOf("generate").map((call) => call.attempt),
        [1, 2, 3],
      );
    }));

  test("retry - UNAVAILABLE on every attempt surfaces UnavailableError after maxAttempts", () =>
    withRouter({ generate: flakyGenerate(Infinity) }, async () => {
      const err = await client.complete({ model: "sigma-tiny", prompt: "x" }).then(
        () => assert.fail("expected UnavailableError"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UnavailableError, `got ${String(err)}`);
      assert.equal(err.details, "no ready worker (attempt 3)");
      assert.equal(router.callsOf("generate").length, 3);
    }));

  test("retry - UNAVAILABLE after the first chunk is not retried", () =>
    withRouter(
      {
        async *generate() {
          yield { event: { case: "chunk", value: { tokenIds: [104], textDelta: "h", completionOffset: 0 } } };
          throw new GrpcStatusError(status.UNAVAILABLE, "worker lost mid-stream");
        },
      },
      async () => {
        const events: GenerateEvent[] = [];
        const err = await (async () => {
          for await (const event of client.generate({ model: "sigma-tiny", prompt: "x" })) events.push(event);
        })().then(
          () => assert.fail("expected UnavailableError"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof UnavailableError, `got ${String(err)}`);
        assert.deepEqual(events, [{ type: "chunk", tokenIds: [104], text: "h", completionOffset: 0 }]);
        assert.equal(router.callsOf("generate").length, 1);
      },
    ));

  test("retry - INTERNAL is not retried", () =>
    withRouter(
      {
        // eslint-disable-next-line require-yield
        async *generate() {
          throw new GrpcStatusError(status.INTERNAL, "bug");
        },
      },
      async () => {
        const err = await client.complete({ model: "sigma-tiny", prompt: "x" }).catch((e: unknown) => e);
        assert.ok(err instanceof InternalError);
        assert.equal(router.callsOf("generate").length, 1);
      },
    ));

  test("retry - tokenize and listModels retry on UNAVAILABLE too", () =>
    withRouter(
      {
        async tokenize(request, attempt) {
          if (attempt === 1) throw new GrpcStatusError(status.UNAVAILABLE, "router restarting");
          return { tokenIds: [request.text.length], maxContextTokens: 64 };
        },
        async listModels(attempt) {
          if (attempt <= 2) throw new GrpcStatusError(status.UNAVAILABLE, "router restarting");
          return { models: [{ id: "sigma-tiny" }] };
        },
      },
      async () => {
        assert.deepEqual(await client.tokenize("sigma-tiny", "abc"), { tokenIds: [3], maxContextTokens: 64 });
        assert.equal(router.callsOf("tokenize").length, 2);
        assert.deepEqual((await client.listModels()).map((model) => model.id), ["sigma-tiny"]);
        assert.equal(router.callsOf("listModels").length, 3);
      },
    ));

  test("retry - an abort during the backoff rejects with CancelledError and stops retrying", async () => {
    router = await startFakeRouter({ generate: flakyGenerate(Infinity) });
    const patient = createClient({ address: router.address, retry: { maxAttempts: 10, initialBackoffMs: 60_000, maxBackoffMs: 60_000 } });
    try {
      const controller = new AbortController();
      const pending = patient.complete({ model: "sigma-tiny", prompt: "x" }, { signal: controller.signal });
      while (router.callsOf("generate").length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      const err = await pending.catch((e: unknown) => e);
      assert.ok(err instanceof CancelledError, `got ${String(err)}`);
      assert.equal(router.callsOf("generate").length, 1);
    } finally {
      patient.close();
      await router.stop();
    }
  });

  test("retry - a refused connection is UNAVAILABLE and retried", async () => {
    router = await startFakeRouter({});
    const address = router.address;
    await router.stop();
    const lonely = createClient({ address, retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 } });
    try {
      const err = await lonely.listModels().catch((e: unknown) => e);
      assert.ok(err instanceof UnavailableError, `got ${String(err)}`);
    } finally {
      lonely.close();
    }
  });
});
