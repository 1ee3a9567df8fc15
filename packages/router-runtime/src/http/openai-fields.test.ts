/**
 * Every top-level field of the official `openai` SDK's request types
 * (ChatCompletionCreateParams and CompletionCreateParams, openai 6.30.1) is
 * either honoured or refused by the router: none is accepted and ignored.
 *
 * The field lists are written out here, and checked against the SDK's own
 * type declarations (the `...CreateParamsBase` interfaces in its .d.ts
 * files), so an SDK upgrade that adds a field fails this test until the
 * field has a table entry. Each entry is either
 *
 * - honoured: a request that sets the field, and an assertion that it changed
 *   what the worker received (the FakeWorker records each call) or the
 *   response; or
 * - refused: a value that must give a 400 whose `param` names the field.
 *
 * The vLLM extensions (top_k, min_p, stop_token_ids, ...) are checked in
 * sampling-fields.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { workerv1 } from "@sigmaserve/proto";
import { DEFAULT_FAKE_BEHAVIOUR, FAKE_MODEL_ID } from "../testing/fake-worker.js";
import { postJson } from "../testing/post-json.js";
import { parseSseBody } from "../testing/read-sse.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

/** ChatCompletionCreateParamsBase's fields in openai 6.30.1, in the SDK's order. */
const CHAT_FIELDS = [
  "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
  "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
  "presence_penalty", "prompt_cache_key", "prompt_cache_retention", "reasoning_effort", "response_format",
  "safety_identifier", "seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature",
  "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
];

/** CompletionCreateParamsBase's fields in openai 6.30.1, in the SDK's order. */
const COMPLETION_FIELDS = [
  "model", "prompt", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
  "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user",
];

/** The top-level property names of `export interface NAME {...}` in a .d.ts file (nested object types skipped). */
function interfaceFields(file: string, name: string): string[] {
  const source = readFileSync(file, "utf8");
  const start = source.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `${name} is declared in ${file}`);
  const fields: string[] = [];
  let depth = 0;
  for (const line of source.slice(source.indexOf("{", start)).split("\n")) {
    const code = line.replace(/\/\/.*$|\/\*.*?\*\/|^\s*\*.*$/g, "");
    const property = /^\s*([A-Za-z_$][\w$]*)\??\s*:/.exec(code);
    if (depth === 1 && property !== null) fields.push(property[1]!);
    for (const char of code) depth += char === "{" ? 1 : char === "}" ? -1 : 0;
    if (depth === 0) break;
  }
  return fields;
}

/** The installed openai package's directory (its package.json is not exported, so walk up from its entry). */
function openaiDir(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("openai"));
  while (!dir.endsWith(`${"node_modules"}/openai`)) dir = dirname(dir);
  return dir;
}

interface Seen {
  status: number;
  body: any;
  calls: workerv1.GenerateRequest[];
}
type Entry = { honoured: object; check: (seen: Seen) => void } | { refused: object };

const sampling = (seen: Seen) => seen.calls[0]!.sampling!;

const SHARED: Record<string, Entry> = {
  model: { honoured: { model: FAKE_MODEL_ID }, check: (s) => assert.deepEqual([s.calls[0]!.model, s.body.model], [FAKE_MODEL_ID, FAKE_MODEL_ID]) },
  frequency_penalty: { refused: { frequency_penalty: 0.5 } },
  presence_penalty: { refused: { presence_penalty: 0.5 } },
  logit_bias: { refused: { logit_bias: { "72": 5 } } },
  max_tokens: { honoured: { max_tokens: 3 }, check: (s) => assert.equal(sampling(s).maxTokens, 3) },
  n: { honoured: { n: 2 }, check: (s) => assert.deepEqual([s.calls.length, s.body.choices.map((c: any) => c.index)], [2, [0, 1]]) },
  seed: { honoured: { seed: 11 }, check: (s) => assert.equal(sampling(s).seed, 11n) },
  stop: { honoured: { stop: ["\n\n"] }, check: (s) => assert.deepEqual(sampling(s).stop, ["\n\n"]) },
  stream: { honoured: { stream: true }, check: (s) => assert.equal(s.body.at(-1).choices[0].finish_reason, "stop") },
  stream_options: { honoured: { stream: true, stream_options: { include_usage: true } }, check: (s) => assert.equal(s.body.at(-1).usage.completion_tokens, 13) },
  temperature: { honoured: { temperature: 0.5 }, check: (s) => assert.equal(sampling(s).temperature, 0.5) },
  top_p: { honoured: { top_p: 0.5 }, check: (s) => assert.equal(sampling(s).topP, 0.5) },
  user: { refused: { user: "user-1" } },
};

const CHAT: Record<string, Entry> = {
  ...SHARED,
  messages: {
    honoured: { messages: [{ role: "user", content: "Yo" }] },
    check: (s) => assert.equal(Buffer.from(s.calls[0]!.promptTokenIds.slice(1)).toString(), "<|user|>\nYo\n<|assistant|>\n"),
  },
  audio: { refused: { audio: { format: "wav", voice: "alloy" } } },
  function_call: { refused: { function_call: "auto" } },
  functions: { refused: { functions: [{ name: "f" }] } },
  logprobs: { honoured: { logprobs: true }, check: (s) => assert.deepEqual([sampling(s).logprobs, s.body.choices[0].logprobs.content.length], [0, 13]) },
  max_completion_tokens: { honoured: { max_completion_tokens: 2, max_tokens: 5 }, check: (s) => assert.equal(sampling(s).maxTokens, 2) },
  metadata: { refused: { metadata: { team: "a" } } },
  modalities: { refused: { modalities: ["text", "audio"] } },
  parallel_tool_calls: { refused: { parallel_tool_calls: true } },
  prediction: { refused: { prediction: { type: "content", content: "x" } } },
  prompt_cache_key: { refused: { prompt_cache_key: "k" } },
  prompt_cache_retention: { refused: { prompt_cache_retention: "24h" } },
  reasoning_effort: { refused: { reasoning_effort: "low" } },
  response_format: { refused: { response_format: { type: "json_object" } } },
  safety_identifier: { refused: { safety_identifier: "s" } },
  service_tier: { refused: { service_tier: "auto" } },
  store: { refused: { store: true } },
  tool_choice: { refused: { tool_choice: "auto" } },
  tools: { refused: { tools: [{ type: "function", function: { name: "f" } }] } },
  top_logprobs: { honoured: { logprobs: true, top_logprobs: 2 }, check: (s) => assert.equal(sampling(s).logprobs, 2) },
  verbosity: { refused: { verbosity: "low" } },
  web_search_options: { refused: { web_search_options: {} } },
};

const COMPLETION: Record<string, Entry> = {
  ...SHARED,
  prompt: { honoured: { prompt: [1, 2, 3] }, check: (s) => assert.deepEqual(s.calls[0]!.promptTokenIds, [1, 2, 3]) },
  best_of: { honoured: { best_of: 2, n: 2 }, check: (s) => assert.equal(s.calls.length, 2) },
  echo: { honoured: { echo: true, max_tokens: 2 }, check: (s) => assert.equal(s.body.choices[0].text, "HiHe") },
  logprobs: { honoured: { logprobs: 2 }, check: (s) => assert.deepEqual([sampling(s).logprobs, s.body.choices[0].logprobs.tokens.length], [2, 13]) },
  suffix: { refused: { suffix: "!" } },
};

describe("openai fields - every field of the SDK's request types is honoured or refused", () => {
  let router: TestRouter;
  before(async () => {
    router = await startTestRouter();
  });
  after(() => router.close());
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    router.worker!.calls.length = 0;
  });

  test("openai fields - the lists here are the SDK's own interfaces, field for field", () => {
    const dir = openaiDir();
    assert.equal(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version, "6.30.1", "the lists below are openai 6.30.1's; check them when the SDK changes");
    assert.deepEqual(interfaceFields(join(dir, "resources/chat/completions/completions.d.ts"), "ChatCompletionCreateParamsBase"), CHAT_FIELDS);
    assert.deepEqual(interfaceFields(join(dir, "resources/completions.d.ts"), "CompletionCreateParamsBase"), COMPLETION_FIELDS);
    assert.deepEqual(Object.keys(CHAT).sort(), [...CHAT_FIELDS].sort(), "every chat field has an entry");
    assert.deepEqual(Object.keys(COMPLETION).sort(), [...COMPLETION_FIELDS].sort(), "every completions field has an entry");
  });

  for (const [path, base, table] of [
    ["/v1/chat/completions", { model: FAKE_MODEL_ID, messages: [{ role: "user", content: "Hi" }] }, CHAT],
    ["/v1/completions", { model: FAKE_MODEL_ID, prompt: "Hi" }, COMPLETION],
  ] as const) {
    for (const [field, entry] of Object.entries(table)) {
      const verdict = "refused" in entry ? "refused with a 400 naming it" : "honoured";
      test(`openai fields - ${path} ${field} is ${verdict}`, async () => {
        const res = await postJson(`${router.baseUrl}${path}`, { ...base, ...("refused" in entry ? entry.refused : entry.honoured) });
        const text = await res.text();
        if ("refused" in entry) {
          assert.equal(res.status, 400, text);
          assert.equal(JSON.parse(text).error.param, field);
          assert.equal(router.worker!.calls.length, 0, "a refused request never reaches a worker");
          return;
        }
        assert.equal(res.status, 200, text);
        const body = res.headers.get("content-type") === "text/event-stream" ? parseSseBody(text) : JSON.parse(text);
        entry.check({ status: res.status, body, calls: router.worker!.calls.map((call) => call.request) });
      });
    }
  }
});
