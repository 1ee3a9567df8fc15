/**
 * A Generate stream that fails after it began: the router sends the chunks, a
 * finish with finish_reason ERROR (the usage so far), then a non-OK status.
 * The caller gets one error: the status's typed error with the finish
 * attached; it is not retried (tokens were delivered). An error finish that
 * ends OK (an older router) is still a finish event.
 */
import { status } from "@grpc/grpc-js";
import { GrpcStatusError, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, type SigmaserveClient } from "./client.js";
import { InternalError, SigmaserveError, UnavailableError } from "./errors.js";
import type { GenerateEvent } from "./events.js";
import { scriptedStream, startFakeRouter, type FakeRouter } from "./testing/fake-router.js";

const ERROR_FINISH = { finishReason: inferencev1.FinishReason.ERROR, errorMessage: "gave up after 2 replays: worker lost its GPU", usage: { promptTokens: 3, completionTokens: 4, cachedPromptTokens: 0 } };

describe("client - a stream that fails mid-way", () => {
  let router: FakeRouter;
  let client: SigmaserveClient;

  before(async () => {
    router = await startFakeRouter({
      async *generate(request, context) {
        yield* scriptedStream(["He", "ll"], context, { finish: ERROR_FINISH });
        if (request.model === "old-router") return; // an error finish, then OK
        if (request.model === "bug") throw new GrpcStatusError(status.INTERNAL, "gave up after 2 replays: attention kernel bug");
        throw new GrpcStatusError(status.UNAVAILABLE, "gave up after 2 replays: worker lost its GPU");
      },
    });
    client = createClient({ address: router.address, tls: false, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 } });
  });
  after(async () => {
    client.close();
    await router.stop();
  });

  test("client - generate: the chunks, then one UnavailableError carrying the error finish; never retried", async () => {
    const events: GenerateEvent[] = [];
    const before = router.callsOf("generate").length;
    const err = await (async () => {
      for await (const event of client.generate({ model: "sigma-tiny", prompt: "x" })) events.push(event);
    })().then(
      () => assert.fail("the iteration resolved"),
      (e: unknown) => e,
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["chunk", "chunk"],
      "the error finish is not an event of its own",
    );
    assert.ok(err instanceof UnavailableError, String(err));
    assert.equal(err.message, "UNAVAILABLE: gave up after 2 replays: worker lost its GPU");
    assert.equal(err.finish?.finishReason, "error");
    assert.deepEqual(err.finish?.usage, { promptTokens: 3, completionTokens: 4, cachedPromptTokens: 0 });
    assert.equal(err.finish?.errorMessage, "gave up after 2 replays: worker lost its GPU");
    assert.equal(err.finish?.requestId, "req-fake-1");
    assert.equal(router.callsOf("generate").length - before, 1, "not retried after tokens arrived");
  });

  test("client - complete: rejects with the typed error (INTERNAL for a bug), the finish attached", async () => {
    const err = await client.complete({ model: "bug", prompt: "x" }).then(
      () => assert.fail("complete resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InternalError, String(err));
    assert.equal(err.code, "INTERNAL");
    assert.equal(err.finish?.usage.completionTokens, 4);
  });

  test("client - an error finish that ends OK is still a finish event; complete resolves with it", async () => {
    const completion = await client.complete({ model: "old-router", prompt: "x" });
    assert.equal(completion.finishReason, "error");
    assert.equal(completion.text, "Hell");
    assert.equal(completion.errorMessage, "gave up after 2 replays: worker lost its GPU");
  });

  test("client - other failures carry no finish", async () => {
    const err = new SigmaserveError("UNAVAILABLE", "nothing streamed");
    assert.equal(err.finish, undefined);
  });
});
