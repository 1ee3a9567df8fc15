import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { parseSseBody } from "../testing/read-sse.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

const BOS = 256;
const USAGE_3_5 = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0 } };

describe("http completions - against a fake worker over gRPC", () => {
  let router: TestRouter;
  let url: string;
  before(async () => {
    router = await startTestRouter();
    url = `${router.baseUrl}/v1/completions`;
  });
  after(() => router.close());
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    router.worker!.calls.length = 0;
  });

  test("http completions - a text prompt returns the worker's text, finish reason and exact usage", async () => {
    router.worker!.behaviour.cachedPromptTokens = 2;
    const { status: code, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 5 }));
    assert.equal(code, 200);
    assert.match(body.id, /^cmpl-[0-9a-f]{32}$/);
    assert.ok(Number.isInteger(body.created) && Math.abs(body.created - Date.now() / 1000) < 60);
    assert.deepEqual(
      { ...body, id: "ID", created: 0 },
      {
        id: "ID",
        object: "text_completion",
        created: 0,
        model: "sigma-tiny",
        choices: [{ index: 0, text: "Hello", finish_reason: "length", stop_reason: null, logprobs: null }],
        usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2 } },
      },
    );
    // The router tokenized the text with BOS and sent the sampling through.
    const sent = router.worker!.calls[0]!.request;
    assert.deepEqual(sent.promptTokenIds, [BOS, 72, 105]);
    assert.equal(sent.sampling?.maxTokens, 5);
  });

  test("http completions - the whole reply ends with finish_reason stop", async () => {
    const { body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi" }));
    assert.equal(body.choices[0].text, "Hello, world!");
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 13, total_tokens: 16, prompt_tokens_details: { cached_tokens: 0 } });
  });

  test("http completions - a token-id prompt is sent as given, without BOS", async () => {
    const { status: code, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: [10, 20, 30], max_tokens: 5 }));
    assert.equal(code, 200);
    assert.deepEqual(router.worker!.calls[0]!.request.promptTokenIds, [10, 20, 30]);
    assert.deepEqual(body.usage, USAGE_3_5);
  });

  test("http completions - OpenAI fields map onto the worker's sampling params", async () => {
    await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 3, temperature: 0.5, top_p: 0.25, top_k: 7, seed: 42, stop: "xyz", ignore_eos: true, priority: -2, n: 1 });
    const sent = router.worker!.calls[0]!.request;
    assert.deepEqual(
      { maxTokens: sent.sampling?.maxTokens, temperature: sent.sampling?.temperature, topP: sent.sampling?.topP, topK: sent.sampling?.topK, seed: sent.sampling?.seed, stop: sent.sampling?.stop, ignoreEos: sent.sampling?.ignoreEos, logprobs: sent.sampling?.logprobs, priority: sent.priority },
      { maxTokens: 3, temperature: 0.5, topP: 0.25, topK: 7, seed: 42n, stop: ["xyz"], ignoreEos: true, logprobs: undefined, priority: -2 },
    );
    await postJson(url, { model: "sigma-tiny", prompt: "Hi", stop: ["a", "b"], top_k: -1, stream_options: null, seed: null });
    const second = router.worker!.calls[1]!.request;
    assert.deepEqual(second.sampling?.stop, ["a", "b"]);
    assert.equal(second.sampling?.topK, 0);
    assert.equal(typeof second.sampling?.seed, "bigint", "the router draws a seed when the client sends none");
  });

  test("http completions - stop_reason is the listed stop token that ended the choice, null for EOS, streamed or not", async () => {
    // The fake worker ends every full reply with EOS (257) and reports it as the matched stop token.
    const listed = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", stop_token_ids: [257] }));
    assert.deepEqual([listed.body.choices[0].finish_reason, listed.body.choices[0].stop_reason], ["stop", 257]);
    const eos = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi" }));
    assert.deepEqual([eos.body.choices[0].finish_reason, eos.body.choices[0].stop_reason], ["stop", null]);
    const frames = parseSseBody(await (await postJson(url, { model: "sigma-tiny", prompt: "Hi", stop_token_ids: [257], stream: true })).text());
    assert.deepEqual(frames.at(-1).choices, [{ index: 0, text: "", finish_reason: "stop", stop_reason: 257, logprobs: null }]);
  });

  test("http completions - logprobs N gives the legacy shape, with bytes: tokens and text offsets", async () => {
    router.worker!.behaviour.reply = "Hé!";
    const { body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", logprobs: 2 }));
    assert.equal(router.worker!.calls[0]!.request.sampling?.logprobs, 2);
    assert.equal(body.choices[0].text, "Hé!");
    assert.deepEqual(body.choices[0].logprobs, {
      tokens: ["H", "bytes:\\xc3", "bytes:\\xa9", "!"],
      token_logprobs: [-0.5, -0.5, -0.5, -0.5],
      top_logprobs: [
        { H: -0.5, I: -1.5 },
        { "bytes:\\xc3": -0.5, "bytes:\\xc4": -1.5 },
        { "bytes:\\xa9": -0.5, "bytes:\\xaa": -1.5 },
        { "!": -0.5, '"': -1.5 },
      ],
      text_offset: [0, 1, 1, 2],
    });
  });

  test("http completions - a stream is exact SSE: one frame per text delta, a finish frame, then [DONE]", async () => {
    const res = await postJson(url, { model: "sigma-tiny", prompt: "Hi", stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const frames = parseSseBody(await res.text());
    const id = frames[0].id;
    assert.match(id, /^cmpl-[0-9a-f]{32}$/);
    for (const frame of frames) {
      assert.equal(frame.id, id);
      assert.equal(frame.object, "text_completion");
      assert.equal(frame.model, "sigma-tiny");
      assert.equal("usage" in frame, false, "without include_usage no frame has a usage field");
    }
    assert.deepEqual(
      frames.map((f) => f.choices),
      [
        [{ index: 0, text: "Hell", finish_reason: null, logprobs: null }],
        [{ index: 0, text: "o, w", finish_reason: null, logprobs: null }],
        [{ index: 0, text: "orld", finish_reason: null, logprobs: null }],
        [{ index: 0, text: "!", finish_reason: null, logprobs: null }],
        [{ index: 0, text: "", finish_reason: "stop", stop_reason: null, logprobs: null }],
      ],
    );
  });

  test("http completions - include_usage adds usage: null to every frame and a usage frame with no choices before [DONE]", async () => {
    const res = await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    const frames = parseSseBody(await res.text());
    assert.deepEqual(
      frames.map((f) => [f.choices.map((c: any) => [c.text, c.finish_reason]), f.usage]),
      [
        [[["Hell", null]], null],
        [[["o", null]], null],
        [[["", "length"]], null],
        [[], USAGE_3_5],
      ],
    );
  });

  test("http completions - a chunk whose text is an unfinished character sends no frame", async () => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR, reply: "é!", tokensPerChunk: 1 };
    const frames = parseSseBody(await (await postJson(url, { model: "sigma-tiny", prompt: "Hi", stream: true, logprobs: 0 })).text());
    assert.deepEqual(
      frames.map((f) => [f.choices[0].text, f.choices[0].logprobs?.tokens ?? null]),
      [
        // The logprobs of the held-back byte ride on the frame that completes the character.
        ["é", ["bytes:\\xc3", "bytes:\\xa9"]],
        ["!", ["!"]],
        ["", null],
      ],
    );
  });

  test("http completions - a malformed body is a 400 with param null that says where the JSON broke", async () => {
    const { status: code, body } = await jsonOf(await postJson(url, '{"model": "sigma-tiny", "prompt": }'));
    assert.equal(code, 400);
    assert.equal(body.error.param, null);
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.message, 'the request body is not valid JSON at line 1, column 35: Unexpected token "}"');
    const cut = await jsonOf(await postJson(url, '{"model": '));
    assert.equal(cut.body.error.message, "the request body is not valid JSON at line 1, column 11: Unexpected end of JSON input");
    const empty = await jsonOf(await postJson(url, ""));
    assert.deepEqual(empty, { status: 400, body: { error: { message: "the request body is empty; send a JSON object", type: "invalid_request_error", param: null, code: "invalid_json" } } });
    const notObject = await jsonOf(await postJson(url, "[1]"));
    assert.equal(notObject.status, 400);
    assert.equal(notObject.body.error.message, "the request body must be a JSON object, got an array");
  });

  test("http completions - a field of the wrong type or range is a 400 naming it", async () => {
    const cases: [object, string, string][] = [
      [{ temperature: "hot" }, "temperature", 'temperature: must be a number >= 0, got "hot"'],
      [{ max_tokens: 0 }, "max_tokens", "max_tokens: must be at least 1 (0 is allowed only with echo: true, to score the prompt), got 0"],
      [{ max_tokens: 2.5 }, "max_tokens", "max_tokens: must be an integer in [0, 4294967295], got 2.5"],
      [{ stop: 5 }, "stop", "stop: must be a string or an array of strings, got 5"],
      [{ stream: "yes" }, "stream", 'stream: must be true or false, got "yes"'],
      [{ logprobs: 21 }, "logprobs", "logprobs: must be an integer in [0, 20], got 21"],
      [{ prompt: undefined }, "prompt", "prompt: is required"],
      [{ prompt: ["a", "b"] }, "prompt", "prompt: a list of prompts is not supported; send one prompt (a string or an array of token ids) per request"],
      [{ prompt: "" }, "prompt", "prompt: must not be empty"],
      [{ n: 17 }, "n", "n: must be at most 16, got 17"],
      [{ n: 0 }, "n", "n: must be an integer in [1, 4294967295], got 0"],
      [{ n: 2, best_of: 3 }, "best_of", "best_of: only best_of = n (2) is supported, got 3"],
      [{ best_of: 2 }, "best_of", "best_of: only best_of = n (1) is supported, got 2"],
      [{ user: "u1" }, "user", "user: is not supported by this server (it would have no effect here)"],
      [{ echo: true, stream: true }, "echo", "echo: is not supported with stream: true (send the request without streaming)"],
      [{ stream_options: { include_usage: true } }, "stream_options", "stream_options: is only allowed when stream is true"],
    ];
    for (const [fields, param, message] of cases) {
      const { status: code, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", ...fields }));
      assert.equal(code, 400, JSON.stringify(fields));
      assert.deepEqual([body.error.param, body.error.message], [param, message], JSON.stringify(fields));
    }
    assert.equal(router.worker!.calls.length, 0, "no bad request reached the worker");
  });

  test("http completions - an unknown model is a 404 model_not_found", async () => {
    const { status: code, body } = await jsonOf(await postJson(url, { model: "gpt-5", prompt: "Hi" }));
    assert.equal(code, 404);
    assert.deepEqual({ ...body.error, message: undefined }, { message: undefined, type: "invalid_request_error", param: "model", code: "model_not_found" });
    assert.match(body.error.message, /unknown model "gpt-5"; this cluster serves "sigma-tiny"/);
  });

  test("http completions - the worker's BadRequest comes back as a 400 with the OpenAI field name, streaming or not, and is not retried", async () => {
    // A rule only the worker knows (its own max_tokens limit); it names the field in its own request's terms.
    router.worker!.behaviour.fail = { code: status.INVALID_ARGUMENT, details: "sampling.max_tokens: must be at most 1000, got 1500", violations: [{ field: "sampling.max_tokens", description: "must be at most 1000, got 1500" }] };
    for (const stream of [false, true]) {
      const res = await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 1500, stream });
      assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8", "an error before the first token is a plain HTTP error");
      assert.deepEqual(await jsonOf(res), {
        status: 400,
        body: { error: { message: "max_tokens: must be at most 1000, got 1500", type: "invalid_request_error", param: "max_tokens", code: null } },
      });
    }
    assert.equal(router.worker!.calls.length, 2, "one call per request: a client fault is never retried");
    assert.deepEqual(router.pipeline.pool.list().map((w) => w.quarantinedUntilMs), [0], "nor held against the worker");
  });

  test("http completions - the worker's refusal of a token-id prompt names the client's index", async () => {
    router.worker!.behaviour.fail = { code: status.INVALID_ARGUMENT, details: "prompt_token_ids[1]: 20 is outside the vocabulary [0, 16)", violations: [{ field: "prompt_token_ids[1]", description: "20 is outside the vocabulary [0, 16)" }] };
    const res = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: [10, 20, 30] }));
    assert.deepEqual(res, { status: 400, body: { error: { message: "prompt[1]: 20 is outside the vocabulary [0, 16)", type: "invalid_request_error", param: "prompt[1]", code: null } } });
  });

  test("http completions - sampling the router can check is refused before any worker call, streaming or not", async () => {
    for (const stream of [false, true]) {
      const res = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", top_p: 2, stream }));
      assert.deepEqual(res, { status: 400, body: { error: { message: "top_p: must be in (0, 1], got 2", type: "invalid_request_error", param: "top_p", code: null } } });
    }
    assert.equal(router.worker!.calls.length, 0);
  });

  test("http completions - a worker that is down before the first token gives 503 once no other worker is left", async () => {
    router.worker!.behaviour.fail = { code: status.UNAVAILABLE, details: "worker is restarting" };
    const res = await postJson(url, { model: "sigma-tiny", prompt: "Hi" });
    assert.equal(res.headers.get("retry-after"), "2", "a 503 says when to retry (workers heartbeat every 2 s)");
    const { status: code, body } = await jsonOf(res);
    assert.equal(code, 503);
    assert.equal(body.error.code, "no_worker");
    // The failed worker is quarantined for a moment; let the next tests use it again.
    for (const worker of router.pipeline.pool.list()) worker.quarantinedUntilMs = 0;
  });

  test("http completions - a failure after the stream began is an error frame, then [DONE]", async () => {
    router.worker!.behaviour.fail = { code: status.UNAVAILABLE, details: "worker died", afterTokens: 4 };
    const frames = parseSseBody(await (await postJson(url, { model: "sigma-tiny", prompt: "Hi", stream: true })).text());
    assert.equal(frames.length, 2);
    assert.equal(frames[0].choices[0].text, "Hell");
    assert.deepEqual(Object.keys(frames[1]), ["error"]);
    assert.equal(frames[1].error.code, "generation_failed");
    assert.match(frames[1].error.message, /^generation failed after 4 tokens: every worker that could continue the stream failed/);
    for (const worker of router.pipeline.pool.list()) worker.quarantinedUntilMs = 0;

    // Without streaming the same failure is a 503.
    const res = await postJson(url, { model: "sigma-tiny", prompt: "Hi" });
    assert.equal(res.headers.get("retry-after"), "2");
    const { status: code, body } = await jsonOf(res);
    assert.equal(code, 503);
    assert.equal(body.error.code, "generation_failed");
    for (const worker of router.pipeline.pool.list()) worker.quarantinedUntilMs = 0;
  });

  /**
   * The FakeWorker sends no prompt log probabilities; these tests stand in for a worker that does by adding them to
   * the finish the pipeline relays (entry i: the prompt token, logprob -(i + 1), one alternative).
   */
  function withPromptLogprobs(): () => void {
    const pipeline = router.pipeline;
    const original = pipeline.generate.bind(pipeline);
    pipeline.generate = async function* (request, ...rest) {
      for await (const event of original(request, ...rest)) {
        if (event.kind === "finish" && request.sampling?.promptLogprobs !== undefined) {
          const ids = request.prompt.case === "tokenIds" ? request.prompt.value.ids : [BOS, ...Buffer.from(request.prompt.value ?? "")];
          event.finish.promptLogprobs = ids.map((tokenId, i) =>
            create(inferencev1.TokenLogprobSchema, { tokenId, logprob: i === 0 ? 0 : -(i + 1), topLogprobs: i === 0 ? [] : [{ tokenId: 120, logprob: -0.25 }] }),
          );
        }
        yield event;
      }
    };
    return () => {
      pipeline.generate = original;
    };
  }

  test("http completions - echo with max_tokens 0 and logprobs scores the prompt: its text, its logprobs, the first null", async () => {
    const restore = withPromptLogprobs();
    try {
      const { status: code, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 0, echo: true, logprobs: 1 }));
      assert.equal(code, 200);
      const sampling = router.worker!.calls[0]!.request.sampling!;
      assert.deepEqual([sampling.maxTokens, sampling.promptLogprobs, sampling.logprobs], [0, 1, 1]);
      assert.deepEqual(body.choices[0].text, "Hi");
      assert.deepEqual([body.choices[0].finish_reason, body.choices[0].stop_reason], ["length", null]);
      assert.deepEqual(body.choices[0].logprobs, {
        tokens: ["<|bos|>", "H", "i"],
        token_logprobs: [null, -2, -3],
        top_logprobs: [null, { x: -0.25 }, { x: -0.25 }],
        text_offset: [0, 0, 1],
      });
      assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } });
    } finally {
      restore();
    }
  });

  test("http completions - echo with a completion: the prompt's text and logprobs come first, the offsets run on", async () => {
    const restore = withPromptLogprobs();
    try {
      const { body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: [72, 105], max_tokens: 2, echo: true, logprobs: 0 }));
      assert.equal(body.choices[0].text, "HiHe");
      assert.deepEqual(body.choices[0].logprobs.tokens, ["H", "i", "H", "e"]);
      assert.deepEqual(body.choices[0].logprobs.token_logprobs, [null, -2, -0.5, -0.5]);
      assert.deepEqual(body.choices[0].logprobs.text_offset, [0, 1, 2, 3]);
    } finally {
      restore();
    }
  });

  test("http completions - echo without logprobs only prepends the prompt; a worker that omits asked-for prompt logprobs is a 500", async () => {
    const { body } = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 2, echo: true }));
    assert.equal(body.choices[0].text, "HiHe");
    assert.equal(router.worker!.calls[0]!.request.sampling!.promptLogprobs, undefined, "no prompt logprobs asked for");
    const res = await jsonOf(await postJson(url, { model: "sigma-tiny", prompt: "Hi", max_tokens: 0, echo: true, logprobs: 0 }));
    assert.deepEqual([res.status, res.body.error.message], [500, "echo: the worker returned 0 prompt log probabilities for 3 prompt tokens"]);
  });
});
