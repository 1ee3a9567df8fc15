import assert from "node:assert/strict";
import { test } from "node:test";
import { startTracing, tracesUrlFrom } from "./start-tracing.js";
import { traceLogFields } from "./log-correlation.js";

test("tracing - off unless an endpoint is configured; the flag beats the variables; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win", async () => {
  assert.equal(tracesUrlFrom({ env: {} }), undefined);
  assert.equal(tracesUrlFrom({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" } }), "http://collector:4318/v1/traces");
  assert.equal(tracesUrlFrom({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" } }), "http://collector:4318/v1/traces");
  // The signal-specific variable is a full URL, used as it is, and beats the general one.
  assert.equal(tracesUrlFrom({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom" } }), "http://b:4318/custom");
  assert.equal(tracesUrlFrom({ endpoint: "http://flag:4318", env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom" } }), "http://flag:4318/v1/traces");
  assert.equal(tracesUrlFrom({ endpoint: "http://flag:4318", env: { OTEL_SDK_DISABLED: "true" } }), undefined);
  assert.equal(tracesUrlFrom({ endpoint: "http://flag:4318", env: { OTEL_TRACES_EXPORTER: "none" } }), undefined);
  const off = await startTracing({ serviceName: "t", env: {} });
  assert.equal(off.enabled, false);
  assert.deepEqual(traceLogFields(), {}, "no span, no ids in log lines");
});
