import { Metadata, status } from "@grpc/grpc-js";
import { badRequestError, GrpcStatusError } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CancelledError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  RateLimitedError,
  SigmaserveError,
  toSigmaserveError,
  UnauthenticatedError,
  UnavailableError,
} from "./errors.js";

test("errors - each status maps to its class, keeping code, details and cause", () => {
  const table: [status, new (...args: never[]) => SigmaserveError, string][] = [
    [status.INVALID_ARGUMENT, InvalidArgumentError, "INVALID_ARGUMENT"],
    [status.UNAUTHENTICATED, UnauthenticatedError, "UNAUTHENTICATED"],
    [status.RESOURCE_EXHAUSTED, RateLimitedError, "RESOURCE_EXHAUSTED"],
    [status.UNAVAILABLE, UnavailableError, "UNAVAILABLE"],
    [status.DEADLINE_EXCEEDED, DeadlineExceededError, "DEADLINE_EXCEEDED"],
    [status.CANCELLED, CancelledError, "CANCELLED"],
    [status.NOT_FOUND, NotFoundError, "NOT_FOUND"],
    [status.INTERNAL, InternalError, "INTERNAL"],
    [status.UNKNOWN, InternalError, "UNKNOWN"],
    [status.DATA_LOSS, InternalError, "DATA_LOSS"],
    [status.PERMISSION_DENIED, SigmaserveError, "PERMISSION_DENIED"],
    [status.FAILED_PRECONDITION, SigmaserveError, "FAILED_PRECONDITION"],
  ];
  for (const [code, kind, name] of table) {
    const source = new GrpcStatusError(code, "what happened");
    const mapped = toSigmaserveError(source);
    assert.equal(mapped.constructor, kind, `${name} → ${mapped.constructor.name}`);
    assert.equal(mapped.code, name);
    assert.equal(mapped.details, "what happened");
    assert.equal(mapped.message, `${name}: what happened`);
    assert.equal(mapped.cause, source);
  }
});

test("errors - InvalidArgumentError reads the BadRequest details; its message is never parsed", () => {
  const violations = [
    { field: "sampling.top_p", description: "must be in (0, 1], got 2" },
    { field: "sampling.stop_token_ids[3]", description: "260 is outside the vocabulary [0, 259)" },
  ];
  const mapped = toSigmaserveError(badRequestError(violations));
  assert.ok(mapped instanceof InvalidArgumentError);
  assert.deepEqual(mapped.fieldViolations, violations);
  assert.equal(mapped.field, "sampling.top_p");
  const bare = toSigmaserveError(new GrpcStatusError(status.INVALID_ARGUMENT, "model: must not be empty"));
  assert.ok(bare instanceof InvalidArgumentError);
  assert.deepEqual([bare.fieldViolations, bare.field], [[], undefined]);
});

test("errors - RateLimitedError reads the retry-after-ms trailer", () => {
  const withHint = new Metadata();
  withHint.set("retry-after-ms", "1500");
  const hinted = toSigmaserveError(new GrpcStatusError(status.RESOURCE_EXHAUSTED, "queue full", { metadata: withHint }));
  assert.ok(hinted instanceof RateLimitedError);
  assert.equal(hinted.retryAfterMs, 1_500);

  const garbled = new Metadata();
  garbled.set("retry-after-ms", "soon");
  const unhinted = toSigmaserveError(new GrpcStatusError(status.RESOURCE_EXHAUSTED, "queue full", { metadata: garbled }));
  assert.ok(unhinted instanceof RateLimitedError);
  assert.equal(unhinted.retryAfterMs, undefined);
});

test("errors - a SigmaserveError passes through, anything else becomes UNKNOWN with its cause", () => {
  const typed = new UnavailableError("down");
  assert.equal(toSigmaserveError(typed), typed);
  const raw = new TypeError("Channel has been shut down");
  const wrapped = toSigmaserveError(raw);
  assert.equal(wrapped.constructor, SigmaserveError);
  assert.equal(wrapped.code, "UNKNOWN");
  assert.equal(wrapped.details, "Channel has been shut down");
  assert.equal(wrapped.cause, raw);
});

test("errors - every class sets its name", () => {
  assert.equal(new CancelledError("x").name, "CancelledError");
  assert.equal(new RateLimitedError("x").name, "RateLimitedError");
  assert.equal(new SigmaserveError("ABORTED", "x").name, "SigmaserveError");
});
