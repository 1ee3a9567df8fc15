import assert from "node:assert/strict";
import { test } from "node:test";
import { RouterConfigError } from "../errors.js";
import { loadRouterConfig } from "./router-config.js";

test("router config - --trace-content: off by default; the flag, SIGMASERVE_ROUTER_TRACE_CONTENT or the GenAI content variable turn it on", () => {
  const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadRouterConfig(["--workers", "127.0.0.1:1", ...argv], env).traceContent;
  assert.equal(load([]), false);
  assert.equal(load(["--trace-content"]), true);
  assert.equal(load([], { SIGMASERVE_ROUTER_TRACE_CONTENT: "1" }), true);
  assert.equal(load([], { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "SPAN_ONLY" }), true);
  assert.equal(load([], { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "NO_CONTENT" }), false);
  // Our own variable, when set, wins over the GenAI one.
  assert.equal(load([], { SIGMASERVE_ROUTER_TRACE_CONTENT: "false", OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true" }), false);
});

test("router config - a bad value names the flag", () => {
  assert.throws(() => loadRouterConfig(["--workers", "127.0.0.1:1"], { SIGMASERVE_ROUTER_TRACE_CONTENT: "maybe" }), (err: unknown) => err instanceof RouterConfigError && /--trace-content: must be true, false, 1 or 0/.test(err.message));
  assert.throws(() => loadRouterConfig(["--trace-content=yes"], {}), RouterConfigError);
});
