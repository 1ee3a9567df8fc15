/**
 * `npm run chaos` (= `npm run bench -- chaos`): the fault-injection suite.
 * Each scenario breaks real processes (worker and router processes, a real
 * nats-server) and checks its oracle per run; the row says runs, passed,
 * failed, skipped (the time cap reached), and what it measured. Anything run
 * in-process instead of as a process says so in its row (`in_process`).
 *
 *   --count N    SIGKILL runs (default 100); the other scenarios scale from it
 *   --short      CI sizes: a handful of runs per scenario, about a minute in all
 *   --only a,b   just these scenarios
 *
 * The result goes to bench/results/chaos.json, or BENCH_RESULTS_DIR (the
 * smoke test writes to a temp dir). NOTE: nothing here asserts a time; the
 * caps and per-run bounds are hang guards, and a run that hits one fails.
 */
import type { BenchResult, Row } from "../lib/bench-result.js";
import { kvPressure } from "./kv-pressure.js";
import { kvTransferFaults } from "./kv-transfer-faults.js";
import { natsRestart } from "./nats-restart.js";
import { routerKill } from "./router-kill.js";
import type { Scenario, ScenarioResult } from "./scenario.js";
import { sigkillMidStream } from "./sigkill-mid-stream.js";
import { sigstopMidStream } from "./sigstop-mid-stream.js";
import { StreamClusterPool } from "./stream-cluster.js";

export const DEFAULT_SIGKILL_COUNT = 100;
const SCENARIOS: Scenario[] = [sigkillMidStream, sigstopMidStream, natsRestart, kvTransferFaults, routerKill, kvPressure];

interface ChaosArgs {
  count: number;
  short: boolean;
  only: string[];
}

function parseArgs(args: string[]): ChaosArgs {
  const parsed: ChaosArgs = { count: DEFAULT_SIGKILL_COUNT, short: false, only: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--short") parsed.short = true;
    else if (arg === "--count") parsed.count = Number(args[++i]);
    else if (arg === "--only") parsed.only = (args[++i] ?? "").split(",").filter((name) => name !== "");
    else throw new Error(`chaos: unknown argument ${arg} (--count N, --short, --only a,b)`);
  }
  if (!Number.isInteger(parsed.count) || parsed.count < 1) throw new Error(`chaos: --count must be an integer >= 1, got ${parsed.count}`);
  const unknown = parsed.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`chaos: --only: unknown scenario ${unknown.join(", ")} (one of ${SCENARIOS.map((s) => s.name).join(", ")})`);
  return parsed;
}

const log = (message: string) => process.stdout.write(`${message}\n`);

function rowOf(name: string, result: ScenarioResult, wallMs: number): Row {
  return {
    scenario: name,
    runs: result.runs,
    passed: result.passed,
    failed: result.failed,
    skipped: result.skipped,
    pass_fraction: result.runs === 0 ? 0 : result.passed / result.runs,
    wall_s: Math.round(wallMs / 100) / 10,
    ...result.figures,
    in_process: result.inProcess,
    failures: result.failures.slice(0, 5).join(" | "),
  };
}

export async function run(argv: string[]): Promise<BenchResult> {
  const args = parseArgs(argv);
  const scenarios = args.only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => args.only.includes(s.name));
  const streams = new StreamClusterPool();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const started = performance.now();
  try {
    for (const scenario of scenarios) {
      const runs = scenario.runs(args.count, args.short);
      const capMs = args.short ? scenario.capMs.short : scenario.capMs.full;
      log(`chaos: ${scenario.name}: ${runs} runs (cap ${capMs / 1000} s)`);
      const scenarioStart = performance.now();
      let result: ScenarioResult;
      try {
        result = await scenario.run({ runs, short: args.short, deadlineMs: scenarioStart + capMs, log, streams });
      } catch (err) {
        // The scenario could not run at all (a cluster that did not start): a failure, never a pass.
        result = { runs: 0, passed: 0, failed: 1, skipped: runs, failures: [`the scenario threw: ${(err as Error).stack ?? String(err)}`], figures: {}, inProcess: "" };
      }
      const wallMs = performance.now() - scenarioStart;
      log(`chaos: ${scenario.name}: ${result.passed}/${result.runs} passed, ${result.failed} failed, ${result.skipped} skipped, ${(wallMs / 1000).toFixed(1)} s`);
      for (const failure of result.failures.slice(0, 10)) log(`  FAILED ${failure}`);
      rows.push(rowOf(scenario.name, result, wallMs));
      ratios[`${scenario.name}_pass_fraction`] = result.runs === 0 ? 0 : result.passed / result.runs;
    }
  } finally {
    await streams.stop();
  }
  log(`chaos: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { name: "chaos", config: { count: args.count, short: args.short, only: args.only, scenarios: scenarios.map((s) => s.name) }, rows, ratios };
}
