/**
 * Prompt and output text on the router's request span: absent by default,
 * present as gen_ai.input.messages / gen_ai.output.messages (GenAI semantic
 * conventions) with --trace-content. A real OpenTelemetry SDK in this
 * process keeps the spans in memory; the requests go over real HTTP to a
 * router whose worker is the FakeWorker test double (its output is fixed).
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { trace } from "@sigmaserve/telemetry";
import { jsonOf, postJson } from "../testing/post-json.js";
import { parseSseBody } from "../testing/read-sse.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const MESSAGES = [
  { role: "developer", content: "Be brief." },
  { role: "user", content: [{ type: "text", text: "Where is the " }, { type: "text", text: "lighthouse?" }], name: "ana" },
];

const rootSpan = (name: string): ReadableSpan => {
  const spans = exporter.getFinishedSpans().filter((s) => s.name === name);
  assert.equal(spans.length, 1, `one ${name} span`);
  return spans[0]!;
};

describe("request content - with --trace-content", () => {
  let router: TestRouter;
  before(async () => (router = await startTestRouter({ traceContent: true })));
  after(() => router.close());
  beforeEach(() => exporter.reset());

  test("request content - chat: the messages as sent and the reply, in the GenAI conventions' shape", async () => {
    const { status, body } = await jsonOf(await postJson(`${router.baseUrl}/v1/chat/completions`, { model: "sigma-tiny", messages: MESSAGES, max_tokens: 4 }));
    assert.equal(status, 200);
    const span = rootSpan("chat sigma-tiny");
    assert.deepEqual(JSON.parse(span.attributes["gen_ai.input.messages"] as string), [
      { role: "system", parts: [{ type: "text", content: "Be brief." }] },
      { role: "user", parts: [{ type: "text", content: "Where is the " }, { type: "text", content: "lighthouse?" }], name: "ana" },
    ]);
    const reply = body.choices[0].message.content as string;
    assert.ok(reply.length > 0);
    assert.deepEqual(JSON.parse(span.attributes["gen_ai.output.messages"] as string), [{ role: "assistant", parts: [{ type: "text", content: reply }], finish_reason: "length" }]);
  });

  test("request content - a streamed completion: the prompt as one user message, the output as the deltas joined", async () => {
    const res = await postJson(`${router.baseUrl}/v1/completions`, { model: "sigma-tiny", prompt: "Once upon", max_tokens: 5, stream: true });
    assert.equal(res.status, 200);
    const frames = parseSseBody(await res.text());
    const streamed = frames.map((f) => (f as { choices: { text: string }[] }).choices[0]?.text ?? "").join("");
    assert.ok(streamed.length > 0);
    const span = rootSpan("text_completion sigma-tiny");
    assert.deepEqual(JSON.parse(span.attributes["gen_ai.input.messages"] as string), [{ role: "user", parts: [{ type: "text", content: "Once upon" }] }]);
    assert.deepEqual(JSON.parse(span.attributes["gen_ai.output.messages"] as string), [{ role: "assistant", parts: [{ type: "text", content: streamed }], finish_reason: "length" }]);
  });

  test("request content - a prompt given as token ids is recorded as ids, never decoded", async () => {
    const res = await postJson(`${router.baseUrl}/v1/completions`, { model: "sigma-tiny", prompt: [72, 105], max_tokens: 2 });
    assert.equal(res.status, 200);
    const span = rootSpan("text_completion sigma-tiny");
    assert.deepEqual(JSON.parse(span.attributes["gen_ai.input.messages"] as string), [{ role: "user", parts: [{ type: "token_ids", content: [72, 105] }] }]);
  });
});

describe("request content - by default", () => {
  let router: TestRouter;
  before(async () => (router = await startTestRouter()));
  after(() => router.close());
  beforeEach(() => exporter.reset());

  test("request content - no span carries the prompt's or the reply's text", async () => {
    const { status, body } = await jsonOf(await postJson(`${router.baseUrl}/v1/chat/completions`, { model: "sigma-tiny", messages: MESSAGES, max_tokens: 4 }));
    assert.equal(status, 200);
    const span = rootSpan("chat sigma-tiny");
    assert.equal(span.attributes["gen_ai.usage.output_tokens"], 4, "the span was recorded");
    assert.equal(span.attributes["gen_ai.input.messages"], undefined);
    assert.equal(span.attributes["gen_ai.output.messages"], undefined);
    const everything = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.attributes, s.events]));
    for (const text of ["lighthouse", "Be brief", body.choices[0].message.content as string]) assert.ok(!everything.includes(text), `no span holds ${JSON.stringify(text)}`);
  });
});
