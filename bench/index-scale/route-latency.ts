/**
 * One routing decision the way the router makes it for a kv_aware pick with
 * one hash spec (route-candidates.ts selectWorker, which router-runtime does
 * not export, so its three steps are repeated here in its order):
 *   1. hashes = prefixBlockHashes(prompt tokens)         → hashMs
 *   2. overlap = index.overlap(hashes, { nowMs })          → overlapMs
 *   3. selector.select({ candidates: workers.map(workerLoadOf), overlap, … }) → selectMs
 * Candidates are rebuilt per decision as workerLoadOf does (a WorkerLoad with
 * its K/V usage per tier from the worker's heartbeat), inside the select
 * timing, as the router does. Each step is timed twice: wall clock, and this
 * process's CPU time (process.cpuUsage, µs), which a machine shared with
 * other jobs does not inflate with the time the thread waited for a core.
 * The speculative claim
 * the dispatcher writes after a pick (index.speculate) is left out: it would
 * change the index between probes, and it is not part of overlap + select.
 */
import type { KvIndex, KvUsageRatios, WorkerLoad, WorkerSelector } from "@sigmaserve/kv-index";
import { mulberry32 } from "../lib/mulberry32.js";
import { BLOCK_SIZE_TOKENS, hashesOf, type Probe, type PromptKind } from "./simulated-cluster.js";

/** What a heartbeat told the router about one worker, plus its own in-flight count. */
interface SimulatedLoad {
  workerId: string;
  runningRequests: number;
  waitingRequests: number;
  inFlight: number;
  inFlightBlocks: number;
  /** used / total blocks, K then V, device then host. */
  usage: [number, number, number, number];
}

export interface RouteSample {
  kind: PromptKind;
  hashMs: number;
  overlapMs: number;
  selectMs: number;
  /** overlap + select in CPU time. */
  overlapSelectCpuMs: number;
  matchedWorkers: number;
  bestMatchedBlocks: number;
}

/** Loads that make every cost term live: a few requests each, caches 30–95 % full. */
export function simulatedLoads(workerIds: readonly string[], seed: number): SimulatedLoad[] {
  const random = mulberry32(seed);
  return workerIds.map((workerId) => ({
    workerId,
    runningRequests: Math.floor(random() * 8),
    waitingRequests: Math.floor(random() * 3),
    inFlight: Math.floor(random() * 2),
    inFlightBlocks: Math.floor(random() * 512),
    usage: [0.3 + random() * 0.65, random() * 0.5, 0.3 + random() * 0.65, random() * 0.5],
  }));
}

function workerLoadOf(load: SimulatedLoad): WorkerLoad {
  const kvUsage: KvUsageRatios = { k: { device: load.usage[0], host: load.usage[1] }, v: { device: load.usage[2], host: load.usage[3] } };
  return {
    workerId: load.workerId,
    runningRequests: load.runningRequests + load.inFlight,
    waitingRequests: load.waitingRequests,
    activeBlocks: load.inFlightBlocks,
    kvUsage,
    selectiveV: false,
  };
}

/** Routes every probe once, in order; `nowMs` is fixed (no speculative claims exist). */
export function routeProbes(index: KvIndex, selector: WorkerSelector, loads: readonly SimulatedLoad[], probes: readonly Probe[], nowMs: number): RouteSample[] {
  const samples: RouteSample[] = [];
  for (const probe of probes) {
    const t0 = performance.now();
    const hashes = hashesOf(probe.tokens);
    const t1 = performance.now();
    const c1 = cpuMs();
    const overlap = index.overlap(hashes, { nowMs });
    const t2 = performance.now();
    const selection = selector.select({ candidates: loads.map(workerLoadOf), overlap, requestTokens: probe.tokens.length, blockSizeTokens: BLOCK_SIZE_TOKENS });
    const t3 = performance.now();
    const c3 = cpuMs();
    if (selection === null) throw new Error("kv_aware selected nobody among live candidates");
    let best = 0;
    for (const o of overlap.values()) best = Math.max(best, o.matchedBlocks);
    samples.push({ kind: probe.kind, hashMs: t1 - t0, overlapMs: t2 - t1, selectMs: t3 - t2, overlapSelectCpuMs: c3 - c1, matchedWorkers: overlap.size, bestMatchedBlocks: best });
  }
  return samples;
}

/** This process's CPU time (user + system), ms. */
export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1_000;
}

/** The q-quantile (0…1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
