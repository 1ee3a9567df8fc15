/**
 * The soak's knobs and targets. Every knob is a flag:
 * `npm run soak -- --minutes 10 --clients 6`. `--minutes` may be fractional
 * (CI runs 1). Periods of faults scale down for short runs so that even a
 * one-minute soak sees at least one kill and one drain.
 */
import { parseArgs } from "node:util";

/** Targets (issue 15 §3): reported with each measurement as pass/fail. */
export const TARGET_MEMORY_GROWTH_MAX = 0.05;
/** TTFT p99 of the last window over the first: at most this. */
export const TARGET_TTFT_P99_DRIFT_MAX = 1.5;

export const DEFAULT_SOAK_SETTINGS = {
  minutes: 30,
  /** Workers kept running (a killed or drained one is replaced). */
  workers: 3,
  /** Concurrent clients, each sending its next request when the previous ends. */
  clients: 6,
  /** Shared long prefixes; each request is one of them plus a fresh question. */
  prefixes: 3,
  prefixTokens: 256,
  questionTokens: 24,
  maxTokens: 24,
  /** Share of the requests a client cancels mid-stream (after its first chunks). */
  cancelShare: 0.1,
  /** Seconds between two faults (alternately a SIGKILL and a drain with migration); 0: none. Capped at a third of the run. */
  faultEveryS: 90,
  /** KV pool per worker, MiB (40 KiB per sigma-tiny block: 8 MiB is 204 blocks, small enough to evict under the mix). */
  kvDeviceMib: 8,
  /** The first part of the run (a share of it) that warms up: not in the memory and latency windows. */
  warmupShare: 0.15,
  /** The share of the measured part each of the first and the last windows covers. */
  windowShare: 0.2,
  /** Seconds between two memory samples. */
  sampleEveryS: 2,
  /** Deadline of one request, ms. */
  timeoutMs: 30_000,
  /** How long the quiesce at the end waits for blocks and in-flight counts to reach 0, s. */
  quiesceS: 30,
  seed: 15,
};
export type SoakSettings = typeof DEFAULT_SOAK_SETTINGS;

const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The defaults overridden by `--kebab-case value` flags; each must be a number ≥ 0 (minutes, workers and clients > 0). */
export function parseSoakSettings(args: string[]): SoakSettings {
  const keys = Object.keys(DEFAULT_SOAK_SETTINGS) as (keyof SoakSettings)[];
  const { values } = parseArgs({ args, options: Object.fromEntries(keys.map((key) => [flagOf(key), { type: "string" as const }])), strict: true });
  const settings = { ...DEFAULT_SOAK_SETTINGS };
  for (const key of keys) {
    const raw = values[flagOf(key)];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${flagOf(key)}: must be a number ≥ 0, got ${String(raw)}`);
    settings[key] = value;
  }
  for (const key of ["minutes", "workers", "clients"] as const) if (!(settings[key] > 0)) throw new Error(`--${flagOf(key)}: must be > 0`);
  if (settings.workers < 2) throw new Error("--workers: at least 2, so that a fault leaves a worker to fail over to");
  return settings;
}
