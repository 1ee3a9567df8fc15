import assert from "node:assert/strict";
import { test } from "node:test";
import { OpenAiError } from "./openai-error.js";
import { ChatCompletionRequestSchema, CompletionRequestSchema } from "./openai-types.js";
import { jsonErrorOffset, parseJson } from "./parse-json-body.js";
import { describeValue, formatPath, parseRequest } from "./parse-request.js";

function errorOf(fn: () => unknown): { param: string | null; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OpenAiError);
    assert.equal(err.status, 400);
    return { param: err.param, message: err.message };
  }
  assert.fail("expected an OpenAiError");
}

test("parse-request - nulls mean unset; an unknown field is refused naming it (a typo must not be ignored)", () => {
  const body = parseRequest(CompletionRequestSchema, { model: "m", prompt: "p", max_tokens: null, stop: null, logprobs: null });
  assert.deepEqual(body, { model: "m", prompt: "p", max_tokens: null, stop: null, logprobs: null });
  assert.deepEqual(errorOf(() => parseRequest(CompletionRequestSchema, { model: "m", prompt: "p", temprature: 0.5 })), {
    param: "temprature",
    message: "temprature: is not a parameter of this request (misspelt, or not supported by this server)",
  });
  assert.deepEqual(errorOf(() => parseRequest(ChatCompletionRequestSchema, { model: "m", messages: [{ role: "user", content: "a" }], max_tokenz: 3 })), {
    param: "max_tokenz",
    message: "max_tokenz: is not a parameter of this request (misspelt, or not supported by this server)",
  });
});

test("parse-request - the first problem names its path, its rule and what was sent", () => {
  assert.deepEqual(errorOf(() => parseRequest(CompletionRequestSchema, { prompt: "p" })), { param: "model", message: "model: is required" });
  assert.deepEqual(errorOf(() => parseRequest(CompletionRequestSchema, { model: "m", prompt: [1, -2] })), {
    param: "prompt[1]",
    message: "prompt[1]: must be an integer in [0, 4294967295], got -2",
  });
  assert.deepEqual(errorOf(() => parseRequest(ChatCompletionRequestSchema, { model: "m", messages: [{ role: "user", content: "a" }, { role: "user", content: [{ type: "text", text: 5 }] }] })), {
    param: "messages[1].content[0].text",
    message: "messages[1].content[0].text: must be a string, got 5",
  });
  assert.deepEqual(errorOf(() => parseRequest(CompletionRequestSchema, 7)), { param: null, message: "the request body must be a JSON object, got 7" });
});

test("parse-request - paths and values are rendered compactly", () => {
  assert.equal(formatPath(["messages", 0, "content", 2, "text"]), "messages[0].content[2].text");
  assert.equal(formatPath([]), null);
  assert.deepEqual([describeValue(undefined), describeValue(null), describeValue([]), describeValue({}), describeValue("x".repeat(100)).length], ["nothing", "null", "an empty array", "an object", 61]);
});

test("parse-json-body - the error says at which line and column the JSON broke", () => {
  assert.equal(jsonErrorOffset('{"a": tx}', "Unexpected token 'x'"), 7);
  assert.deepEqual(errorOf(() => parseJson(Buffer.from('{\n  "a": 1,\n  "b": }'))), {
    param: null,
    message: 'the request body is not valid JSON at line 3, column 8: Unexpected token "}"',
  });
  assert.deepEqual(errorOf(() => parseJson(Buffer.from('{"a":1,}'))), { param: null, message: "the request body is not valid JSON at line 1, column 8: Expected double-quoted property name" });
  assert.deepEqual(parseJson(Buffer.from('{"a": "é"}')), { a: "é" });
});
