import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientOptionsError } from "./errors.js";
import { DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF_MS, resolveOptions, type ClientOptions } from "./options.js";

test("options - defaults fill in, and the result is frozen", () => {
  const resolved = resolveOptions({ address: "127.0.0.1:7000" });
  assert.deepEqual(resolved.retry, { maxAttempts: DEFAULT_MAX_ATTEMPTS, initialBackoffMs: DEFAULT_INITIAL_BACKOFF_MS, maxBackoffMs: DEFAULT_MAX_BACKOFF_MS });
  assert.equal(resolved.tls, false);
  assert.equal(resolved.defaultTimeoutMs, undefined);
  assert.ok(Object.isFrozen(resolved) && Object.isFrozen(resolved.retry));
});

test("options - a bad option is refused at construction, naming the field", () => {
  const cases: [ClientOptions, string][] = [
    [{ address: "" }, "address"],
    [{ address: "h:1", apiKey: "" }, "apiKey"],
    [{ address: "h:1", apiKey: "a\nb" }, "apiKey"],
    [{ address: "h:1", defaultTimeoutMs: -1 }, "defaultTimeoutMs"],
    [{ address: "h:1", retry: { maxAttempts: 0 } }, "retry.maxAttempts"],
    [{ address: "h:1", retry: { maxAttempts: 1.5 } }, "retry.maxAttempts"],
    [{ address: "h:1", retry: { initialBackoffMs: Number.NaN } }, "retry.initialBackoffMs"],
    [{ address: "h:1", retry: { initialBackoffMs: 500, maxBackoffMs: 100 } }, "retry.maxBackoffMs"],
    [{ address: "h:1", tls: { cert: "PEM" } }, "tls.key"],
    [{ address: "h:1", tls: { key: "PEM" } }, "tls.cert"],
    [{ address: "h:1", tls: { serverName: "" } }, "tls.serverName"],
  ];
  for (const [options, field] of cases) {
    assert.throws(
      () => resolveOptions(options),
      (err) => err instanceof ClientOptionsError && err.field === field && err.message.startsWith(`${field}: `),
      `expected ${field} to be refused`,
    );
  }
});
