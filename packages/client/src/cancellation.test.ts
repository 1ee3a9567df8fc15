import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { createClient, type SigmaserveClient } from "./client.js";
import { CancelledError, DeadlineExceededError } from "./errors.js";
import { scriptedStream, startFakeRouter, type FakeRouter } from "./testing/fake-router.js";

/** A long, slow stream: 1,000 one-letter chunks, one every `intervalMs`. */
const SLOW_PIECES = Array.from({ length: 1_000 }, () => "a");
const CHUNK_INTERVAL_MS = 10;

async function serverSignalAborted(signal: AbortSignal): Promise<boolean> {
  if (!signal.aborted) await Promise.race([once(signal, "abort"), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  return signal.aborted;
}

describe("client - cancellation and deadlines", () => {
  let router: FakeRouter;
  let client: SigmaserveClient;

  before(async () => {
    router = await startFakeRouter({
      generate: (_request, context) => scriptedStream(SLOW_PIECES, context, { intervalMs: CHUNK_INTERVAL_MS }),
    });
    client = createClient({ address: router.address, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } });
  });

  after(async () => {
    client.close();
    await router.stop();
  });

  test("client - aborting mid-stream rejects with CancelledError and aborts the server's handler", async () => {
    const controller = new AbortController();
    let chunks = 0;
    const err = await (async () => {
      for await (const event of client.generate({ model: "sigma-tiny", prompt: "x" }, { signal: controller.signal })) {
        if (event.type === "chunk" && ++chunks === 3) controller.abort(new Error("user pressed stop"));
      }
    })().then(
      () => assert.fail("the stream ended although it was aborted"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledError, `got ${String(err)}`);
    assert.equal(err.code, "CANCELLED");
    assert.equal(chunks, 3);
    const call = router.callsOf("generate").at(-1)!;
    assert.equal(await serverSignalAborted(call.signal), true, "the server's handler signal did not abort");
    assert.equal(router.callsOf("generate").length, 1, "a cancelled call is not retried");
  });

  test("client - breaking out of the loop cancels the call on the server", async () => {
    let chunks = 0;
    for await (const event of client.generate({ model: "sigma-tiny", prompt: "x" })) {
      if (event.type === "chunk" && ++chunks === 2) break;
    }
    assert.equal(await serverSignalAborted(router.callsOf("generate").at(-1)!.signal), true);
  });

  test("client - an already aborted signal fails at once without calling the server", async () => {
    const calls = router.calls.length;
    const err = await client.complete({ model: "sigma-tiny", prompt: "x" }, { signal: AbortSignal.abort() }).then(
      () => assert.fail("expected CancelledError"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledError);
    assert.equal(router.calls.length, calls);
  });

  test("client - a passed deadline rejects with DeadlineExceededError and aborts the server's handler", async () => {
    const startedMs = Date.now();
    const err = await client.complete({ model: "sigma-tiny", prompt: "x" }, { timeoutMs: 150 }).then(
      () => assert.fail("expected DeadlineExceededError"),
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - startedMs;
    assert.ok(err instanceof DeadlineExceededError, `got ${String(err)}`);
    assert.ok(elapsedMs >= 140 && elapsedMs < 2_000, `deadline fired after ${elapsedMs} ms`);
    assert.equal(await serverSignalAborted(router.callsOf("generate").at(-1)!.signal), true);
  });

  test("client - defaultTimeoutMs applies when a call sets none", async () => {
    const hurried = createClient({ address: router.address, defaultTimeoutMs: 100 });
    try {
      const err = await hurried.complete({ model: "sigma-tiny", prompt: "x" }).then(
        () => assert.fail("expected DeadlineExceededError"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DeadlineExceededError, `got ${String(err)}`);
    } finally {
      hurried.close();
    }
  });
});
