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
