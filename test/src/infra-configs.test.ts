/**
 * The configs in infra/ are checked by the programs that consume them:
 * promtool (Debian's prometheus package) validates the Prometheus config and
 * rules and runs the rules' unit tests; the Grafana dashboard must be a
 * dashboard whose every panel queries Prometheus through the datasource
 * variable (its queries run against a live Prometheus in prometheus.test.ts).
 */
import { execFile } from "node:child_process";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const infra = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "infra");

test("infra - promtool accepts the Prometheus config and rules, and the rules pass their unit tests", async () => {
  const cwd = join(infra, "prometheus");
  const config = await run("promtool", ["check", "config", "prometheus.yml"], { cwd });
  assert.match(config.stdout, /SUCCESS: 11 rules found/);
  const tests = await run("promtool", ["test", "rules", "sigmaserve-rules.test.yml"], { cwd });
  assert.match(tests.stdout, /SUCCESS/);
});

test("infra - the Grafana dashboard: unique panel ids, every target a PromQL query on the datasource variable, K and V shown apart", async () => {
  const dashboard = JSON.parse(await readFile(join(infra, "grafana", "sigmaserve-dashboard.json"), "utf8")) as {
    uid: string;
    templating: { list: { name: string; type: string }[] };
    panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }[];
  };
  assert.equal(dashboard.uid, "sigmaserve-cluster");
  assert.ok(dashboard.templating.list.some((v) => v.name === "datasource" && v.type === "datasource"));
  assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
  for (const panel of dashboard.panels) {
    assert.equal(panel.datasource.uid, "${datasource}", panel.title);
    assert.ok(panel.targets.length > 0, panel.title);
    for (const target of panel.targets) assert.equal(target.datasource.uid, "${datasource}", panel.title);
  }
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.some((e) => e.includes('sigmaserve_kv_usage_ratio{tier="device"}')), "K and V device usage");
  assert.ok(exprs.some((e) => e.includes("sum by (component, state) (sigmaserve_kv_blocks")), "blocks by component and state");
});

test("infra - nats.conf is locked down: loopback listeners, role users from sigmaserve-authorization.conf, JetStream on; nats-server refuses it without the role passwords", async () => {
  const conf = join(infra, "nats", "nats.conf");
  const text = await readFile(conf, "utf8");
  assert.match(text, /^listen: 127\.0\.0\.1:4222$/m);
  assert.match(text, /^http: 127\.0\.0\.1:8222$/m);
  assert.match(text, /^include "sigmaserve-authorization\.conf"$/m);
  assert.match(text, /^jetstream \{$/m);
  const env = { ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/sbin`, NATS_WORKER_PASSWORD: "w", NATS_ROUTER_PASSWORD: "r" };
  const ok = await run("nats-server", ["-t", "-c", conf], { env });
  assert.match(ok.stdout + ok.stderr, /is valid/);
  const { NATS_WORKER_PASSWORD: _unset, ...withoutWorker } = env;
  await assert.rejects(run("nats-server", ["-t", "-c", conf], { env: withoutWorker }), (err: { stdout: string; stderr: string }) => {
    assert.match(err.stdout + err.stderr, /variable reference for 'NATS_WORKER_PASSWORD' .* can not be found/);
    return true;
  });
});
