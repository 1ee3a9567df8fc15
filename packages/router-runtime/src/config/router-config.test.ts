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

test("router config - --autoscale: MIN..MAX with its provider; every rule names its flag", () => {
  const base = ["--nats", "nats://127.0.0.1:4222"];
  const load = (...argv: string[]) => loadRouterConfig([...base, ...argv], {});
  const config = load("--autoscale", "1..4", "--autoscale-provider", "local-process", "--autoscale-worker-command", '["node","w.js"]', "--router-id", "router-a");
  assert.deepEqual(config.autoscale, { min: 1, max: 4 });
  assert.deepEqual(config.autoscaleWorkerCommand, ["node", "w.js"]);
  assert.equal(config.autoscaleIntervalS, 15);
  assert.equal(config.autoscaleDownWindowS, 60);
  assert.equal(config.routerId, "router-a");
  assert.equal(load().autoscale, undefined, "off by default");
  const refused = (argv: string[], message: RegExp) =>
    assert.throws(() => load(...argv), (err: unknown) => err instanceof RouterConfigError && message.test(err.message), `${argv.join(" ")} → ${message}`);
  refused(["--autoscale", "4"], /--autoscale: must be MIN\.\.MAX/);
  refused(["--autoscale", "0..4", "--autoscale-provider", "kubernetes", "--k8s-worker-deployment", "w"], /--autoscale: MIN must be at least 1/);
  refused(["--autoscale", "3..2", "--autoscale-provider", "kubernetes", "--k8s-worker-deployment", "w"], /--autoscale: MAX must be at least MIN/);
  refused(["--autoscale", "1..2"], /--autoscale-provider: give the provider/);
  refused(["--autoscale", "1..2", "--autoscale-provider", "local-process"], /--autoscale-worker-command: the local-process provider needs/);
  refused(["--autoscale", "1..2", "--autoscale-provider", "kubernetes"], /--k8s-worker-deployment: the kubernetes provider needs/);
  refused(["--autoscale-worker-command", "node w.js"], /--autoscale-worker-command: must be a JSON array of strings/);
  refused(["--autoscale-up-waiting", "1", "--autoscale-down-waiting", "1"], /--autoscale-up-waiting: must be above --autoscale-down-waiting/);
  refused(["--autoscale-up-kv-usage", "0.5", "--autoscale-down-kv-usage", "0.6"], /--autoscale-up-kv-usage: must be above/);
  refused(["--router-id", "a.b"], /--router-id: must be 1-128 characters/);
});

test("router config - tenant limits: rates off and shares unset by default; the salt key comes from the environment only", () => {
  const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadRouterConfig(["--workers", "127.0.0.1:1", ...argv], env);
  const defaults = load([]);
  assert.deepEqual(
    [defaults.tenantMaxInFlight, defaults.tenantMaxQueued, defaults.tenantRequestsPerS, defaults.tenantRequestsBurst, defaults.tenantTokensPerS, defaults.tenantTokensBurst, defaults.tenantSaltKey],
    [undefined, undefined, 0, undefined, 0, undefined, undefined],
  );
  const set = load(["--tenant-max-in-flight", "8", "--tenant-requests-per-s", "2.5", "--tenant-tokens-per-s", "4000", "--tenant-tokens-burst", "8000", "--tenant-salt-key-file", "/etc/salt"], { SIGMASERVE_ROUTER_TENANT_SALT_KEY: "k".repeat(32) });
  assert.deepEqual([set.tenantMaxInFlight, set.tenantRequestsPerS, set.tenantTokensPerS, set.tenantTokensBurst, set.tenantSaltKeyFile, set.tenantSaltKey], [8, 2.5, 4000, 8000, "/etc/salt", "k".repeat(32)]);
  assert.throws(() => load(["--tenant-max-in-flight", "0"]), (err: unknown) => err instanceof RouterConfigError && /^--tenant-max-in-flight: /.test(err.message));
  assert.throws(() => load(["--tenant-salt-key", "x"]), RouterConfigError, "no flag: a secret must not sit on a command line");
});
