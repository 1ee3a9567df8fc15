/**
 * The soak in CI: `node --import tsx bench/run.ts soak --minutes 1` on real
 * processes (a nats-server, a router, three workers; one SIGKILLed and one
 * drained with migration, each replaced), its result written to a temp dir
 * (BENCH_RESULTS_DIR) so a run never overwrites bench/results/soak.json.
 * Asserted: no KV block and no router request left after the quiesce, the
 * router's KV index equal to the workers' own counts (event-fed, and after
 * a snapshot resync), no error other than those the faults can cause, and
 * both faults carried out. Memory growth and TTFT drift are recorded in the
 * JSON, never asserted: one minute is too short, and performance is measured.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench");
/** The soak's minute, start-up, quiesce and the observer's resync, with room for a loaded machine. */
const SOAK_TIMEOUT_MS = 5 * 60_000;
/** The soak is stopped this long before the test's timeout, to report its output. */
const KILL_MARGIN_MS = 15_000;

interface SoakJson {
  details: {
    criteria: {
      leakedBlocks: { leakedBlocks: number; routerInFlight: number; admissionInFlight: number; admissionQueued: number; settledAfterMs: number | null };
      indexDrift: { soakRouter: { driftBlocks: number; inSync: boolean }; observerAfterResync: { driftBlocks: number; inSync: boolean } };
      outcomes: { requests: number; ok: number; unexpectedErrors: number; errors: { error: string; acrossFault: boolean; count: number }[] };
      memoryGrowth: { processes: { id: string; peakRssMib: number }[] };
    };
    faults: { kind: string; ok: boolean; detail: string }[];
  };
}

test("soak smoke - one minute of mixed traffic, a kill and a drain: no leaked block, no index drift, no unexpected error", { timeout: SOAK_TIMEOUT_MS }, async () => {
  const resultsDir = await mkdtemp(join(tmpdir(), "soak-smoke-"));
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "run.ts", "soak", "--minutes", "1"], { cwd: BENCH_DIR, env: { ...process.env, BENCH_RESULTS_DIR: resultsDir }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    // Keep the soak's own lines; the processes' JSON request logs are noise here.
    const keep = (chunk: Buffer) => (output += chunk.toString().split("\n").filter((line) => !line.startsWith("{")).join("\n"));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    // Ended by us before the test's own timeout, so that a hang shows the soak's output (its watchdog names the requests in flight).
    const timer = setTimeout(() => child.kill("SIGTERM"), SOAK_TIMEOUT_MS - KILL_MARGIN_MS);
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    assert.equal(code, 0, `the soak exited ${code ?? signal}:\n${output.slice(-6000)}`);

    const { details } = JSON.parse(await readFile(join(resultsDir, "soak.json"), "utf8")) as SoakJson;
    const { leakedBlocks, indexDrift, outcomes } = details.criteria;
    assert.deepEqual(
      { leaked: leakedBlocks.leakedBlocks, routerInFlight: leakedBlocks.routerInFlight, admissionInFlight: leakedBlocks.admissionInFlight, admissionQueued: leakedBlocks.admissionQueued },
      { leaked: 0, routerInFlight: 0, admissionInFlight: 0, admissionQueued: 0 },
      "after the quiesce no worker holds a used block and the router has nothing in flight",
    );
    assert.deepEqual(indexDrift.soakRouter, { ...indexDrift.soakRouter, driftBlocks: 0, inSync: true }, "the soak router's index equals every worker's blocks");
    assert.deepEqual(indexDrift.observerAfterResync, { ...indexDrift.observerAfterResync, driftBlocks: 0, inSync: true }, "a router that resynced from snapshots agrees too");
    assert.equal(outcomes.unexpectedErrors, 0, `errors with no fault under way: ${JSON.stringify(outcomes.errors)}`);
    assert.ok(outcomes.ok > 0, "requests succeeded");
    assert.deepEqual(
      details.faults.map((f) => [f.kind, f.ok]),
      [
        ["kill", true],
        ["drain", true],
      ],
      `a kill then a drain, each replaced: ${JSON.stringify(details.faults)}`,
    );
    assert.ok(details.criteria.memoryGrowth.processes.some((p) => p.id === "router" && p.peakRssMib > 0), "the router's memory was sampled");
  } finally {
    await rm(resultsDir, { recursive: true, force: true });
  }
});
