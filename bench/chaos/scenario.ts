/**
 * A chaos scenario: runs its faults `runs` times against real processes and
 * reports each run as passed or failed against its oracle, plus the figures
 * it measured (detection time, recovery time, ...). A scenario stops early,
 * never hangs, when its time cap is reached: the runs not started are counted
 * as skipped, not as passed.
 */
import type { Row } from "../lib/bench-result.js";
import type { StreamClusterPool } from "./stream-cluster.js";

export interface ScenarioContext {
  /** Runs to do (a scenario may do fewer, smaller kinds, and says so in its row). */
  runs: number;
  /** CI sizes. */
  short: boolean;
  /** performance.now() after which no new run starts. */
  deadlineMs: number;
  log(message: string): void;
  /** The 3-worker cluster the stream scenarios share. */
  streams: StreamClusterPool;
}

export interface ScenarioResult {
  runs: number;
  passed: number;
  /** Failed runs, plus failed end-of-scenario checks (RunTally.endCheck). */
  failed: number;
  /** Runs not started because the time cap was reached. */
  skipped: number;
  /** One line per failed run: what its oracle saw. */
  failures: string[];
  /** Measured figures (ms, counts), written into the row as they are. */
  figures: Row;
  /** What the scenario runs in-process rather than as real processes; "" when nothing. */
  inProcess: string;
}

export interface Scenario {
  name: string;
  /** Wall-clock cap, ms, at the default count and at --short. */
  capMs: { full: number; short: number };
  /** Runs at the default count (`count` is --count, the SIGKILL runs) and at --short. */
  runs(count: number, short: boolean): number;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

/** Tallies runs; `check` records a failure line when its message is not "". */
export class RunTally {
  runs = 0;
  passed = 0;
  failed = 0;
  readonly failures: string[] = [];

  record(run: string, problem: string): boolean {
    this.runs++;
    if (problem === "") {
      this.passed++;
      return true;
    }
    this.failed++;
    this.failures.push(`${run}: ${problem}`);
    return false;
  }

  /** The tally's part of a ScenarioResult. */
  counts(): Pick<ScenarioResult, "runs" | "passed" | "failed" | "failures"> {
    return { runs: this.runs, passed: this.passed, failed: this.failed, failures: this.failures };
  }

  /** An oracle over the whole scenario (e.g. the workers end idle): a failure counts in `failed`, not in `runs`. */
  endCheck(name: string, problem: string): void {
    if (problem === "") return;
    this.failed++;
    this.failures.push(`${name}: ${problem}`);
  }
}

/** Median and max of a list of numbers (NaN when empty), rounded to 0.1. */
export function medianAndMax(values: number[]): { median: number; max: number } {
  if (values.length === 0) return { median: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { median: round(sorted[Math.floor((sorted.length - 1) / 2)]!), max: round(sorted[sorted.length - 1]!) };
}

/** Resolves with `promise`'s value, or rejects with a named timeout after `ms` (a hang guard, not an assertion). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms (a hang)`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
