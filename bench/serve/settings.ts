/**
 * The serve benchmark's knobs, their defaults, and the targets it reports.
 * Every knob is a flag: `npm run bench -- serve --policy-rate 10 --tenants 8`.
 */
import { parseArgs } from "node:util";

/** Targets of the issue: reported next to the measurements, never asserted. */
export const TARGET_KV_AWARE_HIT_RATE_RATIO_MIN = 2;
export const TARGET_KV_AWARE_MEAN_TTFT_RATIO_MAX = 0.7;
export const TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS = 2;

/*
 * KV sizes: sigma-tiny keeps K and V in f32, 2,560 bytes per token, so a
 * 16-token block is 40 KiB and 1 MiB holds 25.6 blocks. A 512-token prefix
 * is 32 blocks; each request adds 3 blocks of its own (32 question + 16
 * output tokens).
 */
export const DEFAULT_SETTINGS = {
  seed: 42,
  prefixTokens: 512,
  questionTokens: 32,
  maxTokens: 16,
  /**
   * The workload: 4 tenants. 5 MiB per worker (128 blocks) holds about
   * three of the four prefixes next to the running requests, so neither policy
   * starves for KV, and round_robin pays a miss whenever a worker's LRU has
   * dropped the tenant it is sent.
   */
  tenants: 4,
  kvDeviceMib: 5,
  /**
   * Cache pressure: 12 tenants (384 prefix blocks) on 8 MiB workers (204
   * blocks each): one worker holds about half of the prefixes, the three
   * together hold all of them 1.6 times over, the regime in which routing
   * decides the hit rate.
   */
  pressureTenants: 12,
  pressureKvDeviceMib: 8,
  /** Poisson rate of the policy comparison, req/s (3 workers on this machine's cores). */
  policyRate: 20,
  policyRequests: 300,
  /** Clients of the closed-loop policy comparison. */
  concurrency: 8,
  closedRequests: 200,
  /** No closed-loop client starts a request after this, s. */
  closedMaxSeconds: 30,
  /** Poisson rate of router against direct, req/s. */
  directRate: 50,
  directRequests: 500,
  /** Repeats of router against direct (alternating which goes first), pooled. */
  directRounds: 2,
  /** KV of the single worker in router against direct: all 4 prefixes fit, so one worker sustains the rate. */
  directKvDeviceMib: 16,
  /**
   * Layers of the worker's model in router against direct (sigma-tiny has 4). With 4, one worker keeps a core
   * busy at 50 req/s on this workload, so on a 2-core machine whatever CPU the router takes shows up as the
   * worker's queueing; fewer layers leave the worker headroom and measure the router rather than the contention.
   */
  directWorkerLayers: 4,
  /** Requests through the path under test (router or direct) before each measured round, so its code is JIT-warm. */
  directWarmupRequests: 300,
  /** Deadline of each request, ms (30 times the TTFT SLO: past it a request has failed by any measure). */
  timeoutMs: 15_000,
};
export type Settings = typeof DEFAULT_SETTINGS;

const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The defaults, overridden by `--kebab-case-name value` flags; each must be a positive number. */
export function parseSettings(args: string[]): Settings {
  const keys = Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[];
  const { values } = parseArgs({ args, options: Object.fromEntries(keys.map((key) => [flagOf(key), { type: "string" as const }])), strict: true });
  const settings = { ...DEFAULT_SETTINGS };
  for (const key of keys) {
    const raw = values[flagOf(key)];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${flagOf(key)}: must be a positive number, got ${String(raw)}`);
    settings[key] = value;
  }
  return settings;
}
