import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { InternalError, InvalidArgumentError } from "./errors.js";
import { StreamReader } from "./events.js";
import { toProtoRequest } from "./request.js";
import { create } from "@bufbuild/protobuf";

test("request - a text prompt maps to `text`, unset sampling fields stay unset", () => {
  assert.deepEqual(toProtoRequest({ model: "sigma-tiny", prompt: "Hi", temperature: 0.7 }, undefined), {
    model: "sigma-tiny",
    prompt: { case: "text", value: "Hi" },
    sampling: { temperature: 0.7 },
    clientRequestId: "",
    priority: 0,
  });
});

test("request - token ids map to `tokenIds`, seeds to uint64, the call's requestId wins", () => {
  const message = toProtoRequest({ model: "m", prompt: [5, 6], seed: 9, stopTokenIds: [2], clientRequestId: "from-request" }, "from-call");
  assert.deepEqual(message.prompt, { case: "tokenIds", value: { ids: [5, 6] } });
  assert.equal(message.sampling?.seed, 9n);
  assert.equal(message.clientRequestId, "from-call");
  assert.equal(toProtoRequest({ model: "m", prompt: "x", seed: 2n ** 64n - 1n }, undefined).sampling?.seed, 2n ** 64n - 1n);
});

test("request - values the wire cannot carry are refused with one field violation, by proto field path", () => {
  const cases: [Parameters<typeof toProtoRequest>[0], string][] = [
    [{ model: "m", prompt: "x", maxTokens: 1.5 }, "sampling.max_tokens"],
    [{ model: "m", prompt: "x", topK: -1 }, "sampling.top_k"],
    [{ model: "m", prompt: "x", seed: -1 }, "sampling.seed"],
    [{ model: "m", prompt: "x", seed: 2n ** 64n }, "sampling.seed"],
    [{ model: "m", prompt: "x", seed: 2 ** 60 }, "sampling.seed"],
    [{ model: "m", prompt: [1, -2] }, "token_ids.ids[1]"],
    [{ model: "m", prompt: "x", stopTokenIds: [0, 1, 2 ** 32] }, "sampling.stop_token_ids[2]"],
    [{ model: "m", prompt: "x", priority: 2 ** 31 }, "priority"],
    [{ model: "m", prompt: 42 as unknown as string }, "prompt"],
    [{ model: "m", prompt: "x", temperature: 1e300 }, "sampling.temperature"],
    [{ model: "m", prompt: "x", topP: -1e39 }, "sampling.top_p"],
  ];
  for (const [request, field] of cases) {
    assert.throws(
      () => toProtoRequest(request, undefined),
      (err) => err instanceof InvalidArgumentError && err.fieldViolations.length === 1 && err.field === field && err.details === `${field}: ${err.fieldViolations[0]!.description}`,
      `expected ${field} to be refused`,
    );
  }
});

function chunk(tokenIds: number[], completionOffset: number): inferencev1.GenerateResponse {
  return create(inferencev1.GenerateResponseSchema, { event: { case: "chunk", value: { tokenIds, textDelta: "", completionOffset } } });
}

function finish(finishReason: inferencev1.FinishReason): inferencev1.GenerateResponse {
  return create(inferencev1.GenerateResponseSchema, { event: { case: "finish", value: { finishReason, matchedStopTokenId: 0, errorMessage: "" } } });
}

test("events - a finish maps every reason and keeps a stop token id of 0", () => {
  const reasons = [
    [inferencev1.FinishReason.STOP, "stop"],
    [inferencev1.FinishReason.LENGTH, "length"],
    [inferencev1.FinishReason.CANCELLED, "cancelled"],
    [inferencev1.FinishReason.ERROR, "error"],
  ] as const;
  for (const [wire, friendly] of reasons) {
    const event = new StreamReader().read(finish(wire));
    assert.equal(event.type === "finish" && event.finishReason, friendly);
    assert.equal(event.type === "finish" && event.matchedStopTokenId, 0);
  }
  assert.throws(() => new StreamReader().read(finish(inferencev1.FinishReason.UNSPECIFIED)), InternalError);
});

test("events - the reader refuses gaps, repeats, messages after the finish, and a missing finish", () => {
  const reader = new StreamReader();
  reader.read(chunk([1, 2], 0));
  assert.throws(() => reader.read(chunk([3], 1)), /completion offset 1, expected 2/);

  const gappy = new StreamReader();
  gappy.read(chunk([1, 2], 0));
  assert.throws(() => gappy.read(chunk([3], 5)), InternalError);

  const done = new StreamReader();
  done.read(chunk([1], 0));
  assert.throws(() => done.end(), /ended without a finish/);
  done.read(finish(inferencev1.FinishReason.LENGTH));
  done.end();
  assert.throws(() => done.read(chunk([2], 1)), /after the finish/);
});
