import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { parseSseBody } from "../testing/read-sse.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

const BOS = 256;
const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi" },
];
const PROMPT = "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\n";
const PROMPT_TOKENS = 1 + Buffer.byteLength(PROMPT);

describe("http chat completions - against a fake worker over gRPC", () => {
  let router: TestRouter;
  let url: string;
  before(async () => {
    router = await startTestRouter();
    url = `${router.baseUrl}/v1/chat/completions`;
  });
  after(() => router.close());
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    router.worker!.calls.length = 0;
  });

  test("http chat - messages go through the template and the reply comes back with exact usage", async () => {
    const { status, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", messages: MESSAGES, max_completion_tokens: 5 }));
    assert.equal(status, 200);
    assert.match(body.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.deepEqual(
      { ...body, id: "ID", created: 0 },
      {
        id: "ID",
        object: "chat.completion",
        created: 0,
        model: "sigma-tiny",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "length", stop_reason: null, logprobs: null }],
        usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 5, total_tokens: PROMPT_TOKENS + 5, prompt_tokens_details: { cached_tokens: 0 } },
      },
    );
    assert.deepEqual(router.worker!.calls[0]!.request.promptTokenIds, [BOS, ...Buffer.from(PROMPT)]);
  });

  test("http chat - max_completion_tokens wins over max_tokens; text parts are joined with newlines", async () => {
    await postJson(url, {
      model: "sigma-tiny",
      messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }],
      max_tokens: 9,
      max_completion_tokens: 2,
    });
    const sent = router.worker!.calls[0]!.request;
    assert.equal(sent.sampling?.maxTokens, 2);
    assert.equal(Buffer.from(sent.promptTokenIds.slice(1)).toString(), "<|user|>\na\nb\n<|assistant|>\n");
  });

  test("http chat - a stream opens with the role delta, then content deltas, a finish delta, usage and [DONE]", async () => {
    const res = await postJson(url, { model: "sigma-tiny", messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const frames = parseSseBody(await res.text());
    for (const frame of frames) {
      assert.equal(frame.object, "chat.completion.chunk");
      assert.equal(frame.id, frames[0].id);
    }
    assert.deepEqual(
      frames.map((f) => ({ choices: f.choices, usage: f.usage })),
      [
        { choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }], usage: null },
        { choices: [{ index: 0, delta: { content: "Hell" }, logprobs: null, finish_reason: null }], usage: null },
        { choices: [{ index: 0, delta: { content: "o, w" }, logprobs: null, finish_reason: null }], usage: null },
        { choices: [{ index: 0, delta: { content: "orld" }, logprobs: null, finish_reason: null }], usage: null },
        { choices: [{ index: 0, delta: { content: "!" }, logprobs: null, finish_reason: null }], usage: null },
        { choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop", stop_reason: null }], usage: null },
        { choices: [], usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 13, total_tokens: PROMPT_TOKENS + 13, prompt_tokens_details: { cached_tokens: 0 } } },
      ],
    );
  });

  test("http chat - without include_usage no frame carries usage", async () => {
    const frames = parseSseBody(await (await postJson(url, { model: "sigma-tiny", messages: MESSAGES, stream: true, max_tokens: 4 })).text());
    assert.deepEqual(
      frames.map((f) => [f.choices[0].delta, f.choices[0].finish_reason, "usage" in f]),
      [
        [{ role: "assistant", content: "" }, null, false],
        [{ content: "Hell" }, null, false],
        [{}, "length", false],
      ],
    );
  });

  test("http chat - logprobs: true with top_logprobs gives chat's content shape with bytes", async () => {
    router.worker!.behaviour.reply = "Hé";
    const { body } = await jsonOf(await postJson(url, { model: "sigma-tiny", messages: MESSAGES, logprobs: true, top_logprobs: 1 }));
    assert.equal(router.worker!.calls[0]!.request.sampling?.logprobs, 1);
    assert.deepEqual(body.choices[0].logprobs, {
      content: [
        { token: "H", logprob: -0.5, bytes: [72], top_logprobs: [{ token: "H", logprob: -0.5, bytes: [72] }] },
        { token: "bytes:\\xc3", logprob: -0.5, bytes: [0xc3], top_logprobs: [{ token: "bytes:\\xc3", logprob: -0.5, bytes: [0xc3] }] },
        { token: "bytes:\\xa9", logprob: -0.5, bytes: [0xa9], top_logprobs: [{ token: "bytes:\\xa9", logprob: -0.5, bytes: [0xa9] }] },
      ],
    });
  });

  test("http chat - bad messages and fields are 400s naming the field", async () => {
    const cases: [object, string, string][] = [
      [{ messages: [] }, "messages", "messages: must hold at least one message, got an empty array"],
      [{ messages: "hi" }, "messages", 'messages: must be an array of messages, got "hi"'],
      [{ messages: [{ role: "tool", content: "x" }] }, "messages[0].role", 'messages[0].role: must be one of "system", "developer", "user", "assistant", got "tool"'],
      [{ messages: [{ role: "user" }] }, "messages[0].content", "messages[0].content: is required"],
      [
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] },
        "messages[0].content[0].type",
        'messages[0].content[0].type: must be "text" (only text content parts are supported), got "image_url"',
      ],
      [{ top_logprobs: 2 }, "top_logprobs", "top_logprobs: requires logprobs to be true"],
      [{ tools: [{ type: "function" }] }, "tools", "tools: tool calling is not supported"],
      [{ max_completion_tokens: -1 }, "max_completion_tokens", "max_completion_tokens: must be an integer in [1, 4294967295], got -1"],
      [{ top_p: 2 }, "top_p", "top_p: must be in (0, 1], got 2"],
      [
        { messages: [{ role: "user", content: null }] },
        "messages[0].content",
        "messages[0].content: must be a string or an array of text parts (only an assistant message may have a null content), got null",
      ],
      [
        { messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }] },
        "messages[0].tool_calls",
        "messages[0].tool_calls: tool calls are not supported, got an array",
      ],
      [{ n: 17 }, "n", "n: must be at most 16, got 17"],
      [{ user: "u1" }, "user", "user: is not supported by this server (it would have no effect here)"],
    ];
    for (const [fields, param, message] of cases) {
      const { status, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", messages: MESSAGES, ...fields }));
      assert.equal(status, 400, JSON.stringify(fields));
      assert.deepEqual([body.error.param, body.error.message], [param, message], JSON.stringify(fields));
    }
  });

  test("http chat - an assistant message with null (or no) content is rendered as empty content", async () => {
    const messages = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: null },
      { role: "assistant" },
      { role: "user", content: "Again" },
    ];
    const { status } = await jsonOf(await postJson(url, { model: "sigma-tiny", messages, max_tokens: 1 }));
    assert.equal(status, 200);
    const sent = router.worker!.calls[0]!.request;
    assert.equal(Buffer.from(sent.promptTokenIds.slice(1)).toString(), "<|user|>\nHi\n<|assistant|>\n\n<|assistant|>\n\n<|user|>\nAgain\n<|assistant|>\n");
  });

  test("http chat - n = 2 samples the prompt twice with seeds 7 and 8: two choices, the prompt counted once in usage", async () => {
    const { status, body } = await jsonOf(await postJson(url, { model: "sigma-tiny", messages: MESSAGES, max_tokens: 3, n: 2, seed: 7 }));
    assert.equal(status, 200);
    assert.deepEqual(
      router.worker!.calls.map((call) => call.request.sampling?.seed).sort(),
      [7n, 8n],
    );
    assert.deepEqual(
      body.choices.map((c: any) => [c.index, c.message.content, c.finish_reason, c.stop_reason]),
      [
        [0, "Hel", "length", null],
        [1, "Hel", "length", null],
      ],
    );
    const promptTokens = router.worker!.calls[0]!.request.promptTokenIds.length;
    assert.deepEqual(body.usage, { prompt_tokens: promptTokens, completion_tokens: 6, total_tokens: promptTokens + 6, prompt_tokens_details: { cached_tokens: 0 } });
  });

  test("http chat - a stream of n = 2 opens both choices, interleaves their deltas, finishes each, then one usage frame", async () => {
    const res = await postJson(url, { model: "sigma-tiny", messages: MESSAGES, n: 2, stream: true, stream_options: { include_usage: true } });
    const frames = parseSseBody(await res.text());
    const byChoice = new Map<number, string>();
    const finishes: [number, string][] = [];
    for (const frame of frames.slice(0, -1)) {
      assert.equal(frame.choices.length, 1, "one choice per frame");
      const choice = frame.choices[0];
      byChoice.set(choice.index, (byChoice.get(choice.index) ?? "") + (choice.delta.content ?? ""));
      if (choice.finish_reason !== null) finishes.push([choice.index, choice.finish_reason]);
    }
    assert.deepEqual([...byChoice.entries()].sort(), [
      [0, "Hello, world!"],
      [1, "Hello, world!"],
    ]);
    assert.deepEqual(finishes.sort(), [
      [0, "stop"],
      [1, "stop"],
    ]);
    assert.deepEqual(frames.slice(0, 2).map((f) => [f.choices[0].index, f.choices[0].delta]), [
      [0, { role: "assistant", content: "" }],
      [1, { role: "assistant", content: "" }],
    ]);
    const last = frames.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 2 * Buffer.byteLength("Hello, world!"));
  });
});
