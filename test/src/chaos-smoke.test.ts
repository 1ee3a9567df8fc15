/**
 * The chaos suite's CI size: `bench/run.ts chaos --short` as a child process
 * (real worker, router and nats-server processes; see bench/chaos/), with its
 * result written to a temp dir (BENCH_RESULTS_DIR) rather than bench/results.
 * The assertion is the suite's own oracles: every scenario ran and none
 * failed. No figure is asserted; the timeout is a hang guard.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

/** bench/, from this file (test/src/chaos-smoke.test.ts), wherever the checkout is. */
const benchDir = fileURLToPath(new URL("../../bench/", import.meta.url));
const SCENARIOS = ["sigkill-mid-stream", "sigstop-mid-stream", "nats-restart", "kv-transfer-faults", "router-kill", "kv-pressure"];
/** --short takes about a minute on 2 cores; this only stops a hang. */
const HANG_GUARD_MS = 5 * 60_000;

interface ChaosRow {
  scenario: string;
  runs: number;
  passed: number;
  failed: number;
  skipped: number;
  failures: string;
}

test("chaos --short: every scenario runs and passes its oracles (SIGKILL, SIGSTOP, NATS restart, KV transfer faults, router kill, KV pressure)", { timeout: HANG_GUARD_MS }, async () => {
  const outDir = await mkdtemp(join(tmpdir(), "sigmaserve-chaos-"));
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "run.ts", "chaos", "--short"], { cwd: benchDir, env: { ...process.env, BENCH_RESULTS_DIR: outDir }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, `chaos --short exited with ${code}:\n${output.slice(-4_000)}`);
    const result = JSON.parse(await readFile(join(outDir, "chaos.json"), "utf8")) as { rows: ChaosRow[] };
    assert.deepEqual(result.rows.map((row) => row.scenario), SCENARIOS);
    for (const row of result.rows) {
      assert.equal(row.failed, 0, `${row.scenario}: ${row.failures}`);
      assert.equal(row.skipped, 0, `${row.scenario}: runs skipped (its time cap was reached)`);
      assert.ok(row.runs > 0 && row.passed === row.runs, `${row.scenario}: ${row.passed} of ${row.runs} runs passed`);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
