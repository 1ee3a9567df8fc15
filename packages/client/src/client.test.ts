import { Metadata, status } from "@grpc/grpc-js";
import { badRequestError, GrpcStatusError, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, type SigmaserveClient } from "./client.js";
import { InvalidArgumentError, NotFoundError, RateLimitedError, SigmaserveError, UnauthenticatedError } from "./errors.js";
import type { GenerateEvent } from "./events.js";
import { byteTokens, finishMessage, scriptedStream, startFakeRouter, type FakeRouter } from "./testing/fake-router.js";

const API_KEY = "sk-test-0123";

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail("expected the call to fail, it succeeded"),
    (err: unknown) => err,
  );
}

describe("client - against the router test double on loopback", () => {
  let router: FakeRouter;
  let client: SigmaserveClient;

  before(async () => {
    router = await startFakeRouter({
      apiKey: API_KEY,
      async *generate(request, context) {
        if (request.model === "missing") throw new GrpcStatusError(status.NOT_FOUND, 'model: "missing" is not served');
        if ((request.sampling?.topP ?? 1) > 1) {
          const violations = [{ field: "sampling.top_p", description: `must be in (0, 1], got ${request.sampling?.topP}` }];
          if (request.sampling?.stop[0] === "") violations.push({ field: "sampling.stop[0]", description: "must not be empty" });
          throw badRequestError(violations);
        }
        // A status with no BadRequest detail, whatever its message looks like.
        if (request.model === "plain-invalid") throw new GrpcStatusError(status.INVALID_ARGUMENT, "sampling.top_k: looks like a field, but is only text");
        if (request.model === "busy") {
          const metadata = new Metadata();
          metadata.set("retry-after-ms", "250");
          throw new GrpcStatusError(status.RESOURCE_EXHAUSTED, "admission queue is full", { metadata });
        }
        if (request.model === "logprobs") {
          yield {
            event: {
              case: "chunk",
              value: {
                tokenIds: [72],
                textDelta: "H",
                completionOffset: 0,
                logprobs: [{ tokenId: 72, logprob: -0.5, topLogprobs: [{ tokenId: 73, logprob: -1.25 }] }],
              },
            },
          };
          yield finishMessage({ finishReason: inferencev1.FinishReason.LENGTH, usage: { promptTokens: 2, completionTokens: 1, cachedPromptTokens: 0 } });
          return;
        }
        yield* scriptedStream(["Hel", "lo", ", world"], context, {
          finish: { matchedStop: "\n", clientRequestId: request.clientRequestId, seed: request.sampling?.seed ?? 7n },
        });
      },
      async listModels() {
        return {
          models: [
            { id: "sigma-tiny", numLayers: 2, hiddenSize: 64, numQueryHeads: 4, numKeyHeads: 1, numValueHeads: 2, headDim: 16, vocabSize: 260, maxContextTokens: 512, tokenizer: "byte", readyWorkers: 3 },
          ],
        };
      },
    });
    client = createClient({ address: router.address, apiKey: API_KEY, retry: { maxAttempts: 1 } });
  });

  after(async () => {
    client.close();
    await router.stop();
  });

  test("client - generate streams chunks in order, then one finish", async () => {
    const events = await collect(client.generate({ model: "sigma-tiny", prompt: "Say hi", maxTokens: 16, seed: 5 }));
    assert.deepEqual(
      events.filter((event) => event.type === "chunk"),
      [
        { type: "chunk", tokenIds: byteTokens("Hel"), text: "Hel", completionOffset: 0 },
        { type: "chunk", tokenIds: byteTokens("lo"), text: "lo", completionOffset: 3 },
        { type: "chunk", tokenIds: byteTokens(", world"), text: ", world", completionOffset: 5 },
      ],
    );
    assert.deepEqual(events.at(-1), {
      type: "finish",
      finishReason: "stop",
      usage: { promptTokens: 3, completionTokens: 12, cachedPromptTokens: 0 },
      timings: { queueMs: 1, ttftMs: 2, e2eMs: 3, meanItlMs: 0.5, routerMs: 0.25 },
      requestId: "req-fake-1",
      clientRequestId: "",
      seed: 5n,
      matchedStop: "\n",
    });
    assert.equal(events.length, 4);
  });

  test("client - the request reaches the server mapped to the proto", async () => {
    await collect(
      client.generate(
        { model: "sigma-tiny", prompt: [1, 2, 3], maxTokens: 8, temperature: 0, topK: 5, stop: ["\n"], stopTokenIds: [2], logprobs: 2, ignoreEos: true, priority: -1 },
        { requestId: "my-req-9" },
      ),
    );
    const last = router.callsOf("generate").at(-1)!;
    const request = last.request as inferencev1.GenerateRequest;
    assert.deepEqual(request.prompt, { case: "tokenIds", value: request.prompt.value });
    assert.deepEqual((request.prompt.value as inferencev1.TokenIds).ids, [1, 2, 3]);
    assert.equal(request.sampling?.maxTokens, 8);
    assert.equal(request.sampling?.temperature, 0);
    assert.equal(request.sampling?.topP, undefined, "unset fields stay unset so the server default applies");
    assert.equal(request.sampling?.topK, 5);
    assert.deepEqual(request.sampling?.stop, ["\n"]);
    assert.deepEqual(request.sampling?.stopTokenIds, [2]);
    assert.equal(request.sampling?.logprobs, 2);
    assert.equal(request.sampling?.ignoreEos, true);
    assert.equal(request.priority, -1);
    assert.equal(request.clientRequestId, "my-req-9");
    assert.equal(last.requestId, "my-req-9");
  });

  test("client - every call carries the API key as a bearer token", async () => {
    await client.complete({ model: "sigma-tiny", prompt: "x" });
    await client.tokenize("sigma-tiny", "x");
    await client.listModels();
    const seen = new Set(router.calls.map((call) => call.authorization));
    assert.deepEqual([...seen], [`Bearer ${API_KEY}`]);
  });

  test("client - complete gathers text, token ids and the finish", async () => {
    const completion = await client.complete({ model: "sigma-tiny", prompt: "Say hi", seed: 11n, clientRequestId: "c-1" });
    assert.equal(completion.text, "Hello, world");
    assert.deepEqual(completion.tokenIds, byteTokens("Hello, world"));
    assert.equal(completion.finishReason, "stop");
    assert.equal(completion.matchedStop, "\n");
    assert.equal(completion.seed, 11n);
    assert.equal(completion.clientRequestId, "c-1");
    assert.equal(completion.requestId, "req-fake-1");
    assert.deepEqual(completion.usage, { promptTokens: 3, completionTokens: 12, cachedPromptTokens: 0 });
    assert.equal(completion.logprobs, undefined);
  });

  test("client - complete keeps logprobs per token", async () => {
    const completion = await client.complete({ model: "logprobs", prompt: "x", logprobs: 1 });
    assert.equal(completion.finishReason, "length");
    assert.deepEqual(completion.logprobs, [{ tokenId: 72, logprob: -0.5, topLogprobs: [{ tokenId: 73, logprob: -1.25 }] }]);
  });

  test("client - INVALID_ARGUMENT becomes InvalidArgumentError whose fieldViolations are the server's BadRequest", async () => {
    const err = await rejection(client.complete({ model: "sigma-tiny", prompt: "x", topP: 2 }));
    assert.ok(err instanceof InvalidArgumentError, `got ${String(err)}`);
    assert.equal(err.code, "INVALID_ARGUMENT");
    assert.deepEqual(err.fieldViolations, [{ field: "sampling.top_p", description: "must be in (0, 1], got 2" }]);
    assert.equal(err.field, "sampling.top_p");
    assert.equal(err.details, "sampling.top_p: must be in (0, 1], got 2");

    const two = await rejection(client.complete({ model: "sigma-tiny", prompt: "x", topP: 3, stop: [""] }));
    assert.ok(two instanceof InvalidArgumentError);
    assert.deepEqual(two.fieldViolations, [
      { field: "sampling.top_p", description: "must be in (0, 1], got 3" },
      { field: "sampling.stop[0]", description: "must not be empty" },
    ]);

    const plain = await rejection(client.complete({ model: "plain-invalid", prompt: "x" }));
    assert.ok(plain instanceof InvalidArgumentError);
    assert.deepEqual([plain.fieldViolations, plain.field], [[], undefined], "the message is never parsed for a field");
  });

  test("client - temperature 1e300 (beyond float32) is refused before sending, naming the field", async () => {
    const before = router.callsOf("generate").length;
    const err = await rejection(client.complete({ model: "sigma-tiny", prompt: "x", temperature: 1e300 }));
    assert.ok(err instanceof InvalidArgumentError, `got ${String(err)}`);
    assert.deepEqual(err.fieldViolations, [{ field: "sampling.temperature", description: "must be at most 3.4028234663852886e+38 in magnitude (the largest float32), got 1e+300" }]);
    assert.equal(router.callsOf("generate").length, before, "nothing was sent");
  });

  test("client - a request the wire cannot carry is refused before sending, like the server would", async () => {
    const before = router.callsOf("generate").length;
    const err = await rejection(client.complete({ model: "sigma-tiny", prompt: "x", maxTokens: -1 }));
    assert.ok(err instanceof InvalidArgumentError);
    assert.equal(err.field, "sampling.max_tokens");
    assert.equal(router.callsOf("generate").length, before, "nothing was sent");
  });

  test("client - NOT_FOUND becomes NotFoundError", async () => {
    const err = await rejection(client.complete({ model: "missing", prompt: "x" }));
    assert.ok(err instanceof NotFoundError);
    assert.match(err.details, /"missing" is not served/);
  });

  test("client - RESOURCE_EXHAUSTED becomes RateLimitedError with the retry-after hint, not retried", async () => {
    const retrying = createClient({ address: router.address, apiKey: API_KEY, retry: { maxAttempts: 5, initialBackoffMs: 1, maxBackoffMs: 1 } });
    try {
      const before = router.callsOf("generate").length;
      const err = await rejection(retrying.complete({ model: "busy", prompt: "x" }));
      assert.ok(err instanceof RateLimitedError, `got ${String(err)}`);
      assert.equal(err.retryAfterMs, 250);
      assert.equal(router.callsOf("generate").length, before + 1);
    } finally {
      retrying.close();
    }
  });

  test("client - a wrong API key is UnauthenticatedError", async () => {
    const intruder = createClient({ address: router.address, apiKey: "sk-wrong" });
    try {
      const err = await rejection(intruder.listModels());
      assert.ok(err instanceof UnauthenticatedError, `got ${String(err)}`);
      assert.equal(router.calls.at(-1)?.authorization, "Bearer sk-wrong");
      assert.ok((await rejection(collect(intruder.generate({ model: "sigma-tiny", prompt: "x" })))) instanceof UnauthenticatedError);
    } finally {
      intruder.close();
    }
  });

  test("client - tokenize round trips", async () => {
    assert.deepEqual(await client.tokenize("sigma-tiny", "hé"), { tokenIds: [104, 195, 169], maxContextTokens: 2048 });
    assert.deepEqual(await client.tokenize("sigma-tiny", "a", { addSpecialTokens: true }), { tokenIds: [1, 97], maxContextTokens: 2048 });
  });

  test("client - listModels returns plain objects", async () => {
    assert.deepEqual(await client.listModels(), [
      {
        id: "sigma-tiny",
        numLayers: 2,
        hiddenSize: 64,
        numQueryHeads: 4,
        numKeyHeads: 1,
        numValueHeads: 2,
        headDim: 16,
        augQSize: 0,
        vocabSize: 260,
        maxContextTokens: 512,
        tokenizer: "byte",
        readyWorkers: 3,
      },
    ]);
  });

  test("client - a closed client refuses new calls", async () => {
    const closing = createClient({ address: router.address, apiKey: API_KEY });
    closing.close();
    const err = await rejection(closing.listModels());
    assert.ok(err instanceof SigmaserveError);
    assert.equal(err.code, "FAILED_PRECONDITION");
  });
});
