import assert from "node:assert/strict";
import { test } from "node:test";
import { EndpointTable } from "./endpoint-table.js";
import { OpenAiError } from "./openai-error.js";

test("http router - literal paths, :params, HEAD as GET, 404 and 405 with Allow", () => {
  const router = new EndpointTable<string>().on("GET", "/v1/models", "list").on("GET", "/v1/models/:model", "one").on("POST", "/v1/completions", "complete");
  assert.deepEqual(router.match("GET", "/v1/models"), { handler: "list", params: {}, template: "/v1/models" });
  assert.deepEqual(router.match("HEAD", "/v1/models/sigma%2Dtiny"), { handler: "one", params: { model: "sigma-tiny" }, template: "/v1/models/:model" });
  const statusOf = (method: string, path: string) => {
    try {
      router.match(method, path);
      return null;
    } catch (err) {
      assert.ok(err instanceof OpenAiError);
      return [err.status, err.headers.allow ?? null];
    }
  };
  assert.deepEqual(statusOf("GET", "/v1/models/"), [404, null]);
  assert.deepEqual(statusOf("GET", "/v1/completions/x"), [404, null]);
  assert.deepEqual(statusOf("DELETE", "/v1/completions"), [405, "POST"]);
  assert.deepEqual(statusOf("POST", "/v1/models"), [405, "GET"]);
});
