/**
 * The official `openai` npm SDK (6.30.1, a client nobody here wrote) against
 * the router's HTTP door, over a real gRPC hop to the FakeWorker test double
 * (its reply is "Hello, world!" as byte tokens, logprob -0.5 per token): the
 * SDK must parse every response and stream exactly as it would OpenAI's, and
 * its typed errors must come out of our error bodies. Fields the router does
 * not implement are refused with a 400 the SDK surfaces as BadRequestError
 * naming the parameter.
 */
import { create } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import OpenAI from "openai";
import { DEFAULT_FAKE_BEHAVIOUR, FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

describe("openai SDK - against the router's HTTP door", () => {
  let router: TestRouter;
  let client: OpenAI;
  before(async () => {
    router = await startTestRouter({ apiKeys: "sk-test=tenant-a" });
    client = new OpenAI({ baseURL: `${router.baseUrl}/v1`, apiKey: "sk-test", maxRetries: 0 });
  });
  after(() => router.close());
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
  });

  test("openai SDK - chat.completions.create: the reply, finish reason and usage", async () => {
    const completion = await client.chat.completions.create({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], max_tokens: 5 });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.model, FAKE_MODEL_ID);
    assert.equal(completion.choices[0]!.message.role, "assistant");
    assert.equal(completion.choices[0]!.message.content, "Hello");
    assert.equal(completion.choices[0]!.finish_reason, "length");
    assert.equal(completion.usage?.completion_tokens, 5);
    assert.equal(completion.usage!.total_tokens, completion.usage!.prompt_tokens + 5);
  });

  test("openai SDK - completions.create with logprobs: tokens and their log probabilities", async () => {
    const completion = await client.completions.create({ model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 4, logprobs: 2 });
    assert.equal(completion.choices[0]!.text, "Hell");
    const logprobs = completion.choices[0]!.logprobs!;
    assert.deepEqual(logprobs.tokens, ["H", "e", "l", "l"]);
    assert.deepEqual(logprobs.token_logprobs, [-0.5, -0.5, -0.5, -0.5]);
    assert.equal(Object.keys(logprobs.top_logprobs![0]!).length, 2);
  });

  test("openai SDK - chat streaming with include_usage: the deltas join into the reply, usage comes last", async () => {
    const stream = await client.chat.completions.create({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "Hello, world!");
    assert.equal(finish, "stop");
    assert.equal(usage?.completion_tokens, Buffer.byteLength("Hello, world!"));
  });

  test("openai SDK - chat logprobs: one entry per token, with its top alternatives", async () => {
    const completion = await client.chat.completions.create({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], max_tokens: 3, logprobs: true, top_logprobs: 2 });
    const content = completion.choices[0]!.logprobs!.content!;
    assert.deepEqual(
      content.map((entry) => [entry.token, entry.logprob, entry.top_logprobs.length]),
      [
        ["H", -0.5, 2],
        ["e", -0.5, 2],
        ["l", -0.5, 2],
      ],
    );
  });

  test("openai SDK - errors come out typed: a bad key is AuthenticationError, an unknown model NotFoundError, a bad field BadRequestError naming it", async () => {
    const stranger = new OpenAI({ baseURL: `${router.baseUrl}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError && err.status === 401);
    await assert.rejects(client.completions.create({ model: "nope", prompt: "x" }), (err: unknown) => err instanceof OpenAI.NotFoundError && (err.error as { code?: string }).code === "model_not_found");
    await assert.rejects(
      client.completions.create({ model: FAKE_MODEL_ID, prompt: "x", top_p: 0 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && (err.error as { param?: string }).param === "top_p",
    );
  });

  test("openai SDK - n = 2: two choices, indexed 0 and 1, streamed or not", async () => {
    const completion = await client.chat.completions.create({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, n: 2, seed: 3 });
    assert.deepEqual(
      completion.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
      [
        [0, "Hello", "length"],
        [1, "Hello", "length"],
      ],
    );
    assert.equal(completion.usage?.completion_tokens, 10);
    const stream = await client.completions.create({ model: FAKE_MODEL_ID, prompt: "Hi", n: 2, stream: true, stream_options: { include_usage: true } });
    const texts = ["", ""];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) texts[choice.index] += choice.text;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.deepEqual(texts, ["Hello, world!", "Hello, world!"]);
    assert.equal(usage?.completion_tokens, 2 * Buffer.byteLength("Hello, world!"));
    assert.equal(usage?.prompt_tokens, 3, "the prompt is counted once");
  });

  test("openai SDK - a field with no effect here (user) is a BadRequestError naming it", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }], user: "u1" }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && (err.error as { param?: string }).param === "user",
    );
  });

  test("openai SDK - echo with max_tokens 0 and logprobs: the prompt's log-likelihood, as lm-eval asks for it", async () => {
    // The FakeWorker sends no prompt logprobs: stand in for a worker that does (entry i: logprob -i, the first "none").
    const pipeline = router.pipeline;
    const original = pipeline.generate.bind(pipeline);
    pipeline.generate = async function* (request, ...rest) {
      for await (const event of original(request, ...rest)) {
        if (event.kind === "finish") event.finish.promptLogprobs = [256, 72, 105].map((tokenId, i) => create(inferencev1.TokenLogprobSchema, { tokenId, logprob: -i }));
        yield event;
      }
    };
    try {
      const completion = await client.completions.create({ model: FAKE_MODEL_ID, prompt: "Hi", max_tokens: 0, echo: true, logprobs: 0 });
      const choice = completion.choices[0]!;
      assert.equal(choice.text, "Hi");
      assert.deepEqual(choice.logprobs!.token_logprobs, [null, -1, -2]);
      // lm-eval's loglikelihood: the sum over the continuation's tokens (here "i").
      assert.equal(choice.logprobs!.token_logprobs!.slice(2).reduce((sum, lp) => sum! + lp!, 0), -2);
    } finally {
      pipeline.generate = original;
    }
  });

  test("openai SDK - models.list and models.retrieve read our model objects", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    assert.deepEqual(
      models.map((m) => [m.id, m.object, m.owned_by]),
      [[FAKE_MODEL_ID, "model", "sigmaserve"]],
    );
    assert.equal((await client.models.retrieve(FAKE_MODEL_ID)).id, FAKE_MODEL_ID);
  });
});
