import { Metadata, status } from "@grpc/grpc-js";
import { badRequestError, GrpcStatusError } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, UnknownModelError } from "../errors.js";
import { RETRY_AFTER_MS_METADATA } from "../grpc/to-grpc-status.js";
import { OpenAiError } from "./openai-error.js";
import { defaultRenameField, retryAfterSeconds, toHttpError } from "./to-http-error.js";

function view(err: unknown) {
  const e = toHttpError(err);
  return { status: e.status, type: e.type, param: e.param, code: e.code, message: e.message, headers: e.headers };
}

test("to-http-error - each router error maps to its status, type, param and code", () => {
  assert.deepEqual(view(InvalidRequestError.of("text", "must not be empty")), {
    status: 400, type: "invalid_request_error", param: "prompt", code: null, message: "prompt: must not be empty", headers: {},
  });
  assert.deepEqual(view(new UnknownModelError("x", ["sigma-tiny"])), {
    status: 404, type: "invalid_request_error", param: "model", code: "model_not_found", message: 'model: unknown model "x"; this cluster serves "sigma-tiny"', headers: {},
  });
  assert.deepEqual(view(new AuthenticationError("unknown API key")), {
    status: 401, type: "authentication_error", param: null, code: "invalid_api_key", message: "unknown API key", headers: {},
  });
  assert.deepEqual(view(new OverloadedError("full", 1_001)), {
    status: 429, type: "rate_limit_error", param: null, code: "rate_limit_exceeded", message: "full", headers: { "retry-after": "2" },
  });
  assert.deepEqual(view(new NoWorkerError("none")), { status: 503, type: "server_error", param: null, code: "no_worker", message: "none", headers: { "retry-after": "2" } });
  assert.deepEqual(view(new Error("boom")), { status: 500, type: "server_error", param: null, code: "internal_error", message: "internal error: boom", headers: {} });
  const own = OpenAiError.invalid("n", "n: no");
  assert.equal(toHttpError(own), own);
});

test("to-http-error - statuses: INVALID_ARGUMENT takes param and message from its BadRequest detail, the rest map by code", () => {
  assert.deepEqual(view(badRequestError([{ field: "sampling.top_p", description: "must be in (0, 1], got 2" }])), {
    status: 400, type: "invalid_request_error", param: "top_p", code: null, message: "top_p: must be in (0, 1], got 2", headers: {},
  });
  assert.deepEqual(
    [
      view(badRequestError([{ field: "token_ids.ids[3]", description: "999 is outside the vocabulary [0, 259)" }])).param,
      // The message is never parsed: without a detail there is no param, whatever the message looks like.
      view(new GrpcStatusError(status.INVALID_ARGUMENT, "sampling.top_p: must be in (0, 1], got 2")).param,
      view(new GrpcStatusError(status.OUT_OF_RANGE, "no field here")).message,
    ],
    ["prompt[3]", null, "no field here"],
  );
  const metadata = new Metadata();
  metadata.set(RETRY_AFTER_MS_METADATA, "2500");
  assert.deepEqual([view(new GrpcStatusError(status.RESOURCE_EXHAUSTED, "queue full", { metadata })).status, view(new GrpcStatusError(status.RESOURCE_EXHAUSTED, "queue full", { metadata })).headers], [429, { "retry-after": "3" }]);
  assert.deepEqual(view(new GrpcStatusError(status.RESOURCE_EXHAUSTED, "queue full")).headers, { "retry-after": "1" });
  assert.deepEqual([view(new GrpcStatusError(status.UNAVAILABLE, "down")).status, view(new GrpcStatusError(status.UNAVAILABLE, "down")).code, view(new GrpcStatusError(status.UNAVAILABLE, "down")).headers], [503, "worker_unavailable", { "retry-after": "2" }]);
  assert.deepEqual([view(new GrpcStatusError(status.DEADLINE_EXCEEDED, "slow")).status, view(new GrpcStatusError(status.DEADLINE_EXCEEDED, "slow")).type], [504, "timeout_error"]);
  assert.deepEqual([view(new GrpcStatusError(status.FAILED_PRECONDITION, "draining")).status, view(new GrpcStatusError(status.FAILED_PRECONDITION, "draining")).message], [500, "FAILED_PRECONDITION: draining"]);
});

test("to-http-error - an endpoint's renaming applies to the param and the message", () => {
  const rename = (field: string) => (defaultRenameField(field) === "max_tokens" ? "max_completion_tokens" : defaultRenameField(field));
  const e = toHttpError(InvalidRequestError.of("sampling.max_tokens", "5000 plus the 3 prompt tokens exceed the context of 2048 tokens"), rename);
  assert.deepEqual([e.param, e.message], ["max_completion_tokens", "max_completion_tokens: 5000 plus the 3 prompt tokens exceed the context of 2048 tokens"]);
  // A field the client never sent keeps the internal name in the message and has no param.
  const internal = toHttpError(InvalidRequestError.of("client_request_id", "too long"));
  assert.deepEqual([internal.param, internal.message], [null, "client_request_id: too long"]);
});

test("to-http-error - several violations: param is the first the client knows, the message lists them all", () => {
  const e = toHttpError(
    new InvalidRequestError([
      { field: "client_request_id", description: "too long" },
      { field: "sampling.temperature", description: "must be >= 0, got -1" },
      { field: "sampling.stop[1]", description: "must not be empty" },
    ]),
  );
  assert.deepEqual([e.status, e.param, e.message], [400, "temperature", "client_request_id: too long; temperature: must be >= 0, got -1; stop[1]: must not be empty"]);
  const bare = toHttpError(new InvalidRequestError([], { message: "the request cannot be serialised" }));
  assert.deepEqual([bare.status, bare.param, bare.message], [400, null, "the request cannot be serialised"]);
});

test("to-http-error - the default renaming of public paths", () => {
  const table: [string, string | null][] = [
    ["sampling.top_p", "top_p"],
    ["sampling.stop[2]", "stop[2]"],
    ["token_ids.ids[7]", "prompt[7]"],
    ["token_ids.ids", "prompt"],
    ["token_ids", "prompt"],
    ["text", "prompt"],
    ["prompt", "prompt"],
    ["model", "model"],
    ["priority", "priority"],
    ["client_request_id", null],
    ["request_id", null],
  ];
  assert.deepEqual(table.map(([field]) => [field, defaultRenameField(field)]), table);
});

test("to-http-error - retry-after seconds", () => {
  assert.deepEqual([retryAfterSeconds(0), retryAfterSeconds(1), retryAfterSeconds(1_000), retryAfterSeconds(1_001)], ["1", "1", "1", "2"]);
});
