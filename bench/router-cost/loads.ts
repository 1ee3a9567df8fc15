/**
 * The two loads of the router-cost bench. Paced: one request every 1000/rate
 * ms (open loop: each is sent on schedule whether or not earlier ones ended).
 * Closed: `concurrency` clients, each sending its next request when its last
 * one ends, for a fixed time. Each returns the client's records, the load's
 * wall time and the CPU ms (all threads, from /proc) the router process (when
 * a load goes through it) and the fake worker process spent over the load.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { mulberry32 } from "../lib/mulberry32.js";
import { processCpuSplitMs } from "./process-cpu-split.js";
import type { LightClient, RequestRecord } from "./light-client.js";

export interface LoadRun {
  records: RequestRecord[];
  /** The router's user + system CPU over the run, ms; NaN without a router (direct) or without /proc. */
  routerCpuMs: number;
  /** Of which system (kernel) time, ms. */
  routerSystemCpuMs: number;
  /** The fake worker's CPU over the run, ms (NaN without /proc). */
  workerCpuMs: number;
  wallMs: number;
}

/** The processes whose CPU a load reads. */
export interface Pids {
  router?: number;
  worker: number;
}

export interface Shape {
  promptTokens: number;
  maxTokens: number;
}

/** A prompt of `n` byte-tokenizer ids (0..255), drawn from `random`: every request a different prefix, so none shares cached blocks. */
function prompt(n: number, random: () => number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * 256));
}

const NO_CPU = { userMs: Number.NaN, systemMs: Number.NaN };

/** Measures `body` against the processes' CPU clocks. */
async function timed(pids: Pids, body: () => Promise<RequestRecord[]>): Promise<LoadRun> {
  const routerBefore = pids.router === undefined ? NO_CPU : processCpuSplitMs(pids.router);
  const workerBefore = processCpuSplitMs(pids.worker);
  const startMs = performance.now();
  const records = await body();
  const wallMs = performance.now() - startMs;
  const routerAfter = pids.router === undefined ? NO_CPU : processCpuSplitMs(pids.router);
  const workerAfter = processCpuSplitMs(pids.worker);
  const routerSystemCpuMs = routerAfter.systemMs - routerBefore.systemMs;
  return {
    records,
    routerCpuMs: routerAfter.userMs - routerBefore.userMs + routerSystemCpuMs,
    routerSystemCpuMs,
    workerCpuMs: workerAfter.userMs + workerAfter.systemMs - workerBefore.userMs - workerBefore.systemMs,
    wallMs,
  };
}

export function pacedLoad(client: LightClient, shape: Shape, ratePerS: number, requests: number, seed: number, runId: string, pids: Pids): Promise<LoadRun> {
  const random = mulberry32(seed);
  const prompts = Array.from({ length: requests }, () => prompt(shape.promptTokens, random));
  return timed(pids, async () => {
    const startMs = performance.now();
    const pending: Promise<RequestRecord>[] = [];
    for (let i = 0; i < requests; i++) {
      const waitMs = startMs + (i * 1000) / ratePerS - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      pending.push(client.generate({ promptTokenIds: prompts[i]!, maxTokens: shape.maxTokens, requestId: `${runId}-${i}` }));
    }
    return Promise.all(pending);
  });
}

export function closedLoad(client: LightClient, shape: Shape, concurrency: number, seconds: number, seed: number, runId: string, pids: Pids): Promise<LoadRun> {
  const random = mulberry32(seed);
  // A pool of prompts reused in turn: drawing them is the load generator's CPU, not the router's.
  const prompts = Array.from({ length: 256 }, () => prompt(shape.promptTokens, random));
  return timed(pids, async () => {
    const records: RequestRecord[] = [];
    const stopAtMs = performance.now() + seconds * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < stopAtMs) {
          const i = next++;
          records.push(await client.generate({ promptTokenIds: prompts[i % prompts.length]!, maxTokens: shape.maxTokens, requestId: `${runId}-${i}` }));
        }
      }),
    );
    return records;
  });
}
