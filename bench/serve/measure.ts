/**
 * One measured configuration: a fresh cluster (so caches start cold), wait
 * until the router sees every worker, warm ONNX Runtime up, run the load, and
 * stop every process whatever happens.
 */
import { createClient } from "@sigmaserve/client";
import { startBenchCluster, type BenchCluster } from "../lib/cluster-processes.js";
import { runClosedLoop, runOpenLoop, type RequestRecord } from "./load-generator.js";
import { sum, summarize } from "./percentiles.js";
import { MODEL, routerTarget, workerTarget, type Target } from "./targets.js";
import { mulberry32 } from "../lib/mulberry32.js";
import { buildWorkload, poissonArrivalsMs, type Workload, type WorkloadRequest } from "./workload.js";
import { processCpuMs } from "../lib/process-cpu.js";

/** Time for the router to see every worker ready. */
const READY_TIMEOUT_MS = 20_000;
/** Short requests sent straight to each worker before the load. */
const WARMUP_REQUESTS = 3;
const WARMUP_PROMPT_TOKENS = 48;

export type Load = { mode: "poisson"; ratePerS: number; arrivalsMs: number[] } | { mode: "closed"; concurrency: number; maxSeconds: number };

export interface ClusterConfig {
  workers: number;
  policy: string;
  kvDeviceMib: number;
  /** Send straight to worker w0 instead of through the router. */
  direct: boolean;
  /** A model directory (named sigma-tiny) instead of the preset, e.g. with fewer layers. */
  modelDir?: string;
  /** Extra router flags (e.g. --cache-pull-min-blocks 0 to compare without cache pulls). */
  routerFlags?: string[];
  /** Extra worker flags (e.g. --otlp-endpoint URL for the tracing comparison). */
  workerFlags?: string[];
  /** Prefill each tenant's prefix once before the load, so the measured run starts warm. */
  warmPrefixes?: boolean;
  /**
   * Requests sent through the target under test before the measured load (a workload of the same shape on
   * other prefixes, at the load's Poisson rate), so its code runs JIT-optimized: on this machine the router
   * spends about twice the CPU per request in its first few hundred requests.
   */
  warmupRequests?: { count: number; ratePerS: number };
}

export interface Measurement {
  records: RequestRecord[];
  /** CPU the processes used during the load, ms (NaN off Linux). */
  cpuMs: { router: number; workers: number };
  /** Wall time of the load, ms. */
  wallMs: number;
}

/** Each tenant's first request with max_tokens 1, all at once: the prefixes are then cached where the load will find them. */
async function warmPrefixes(target: Target, workload: Workload, timeoutMs: number): Promise<void> {
  const firsts = new Map<number, WorkloadRequest>();
  for (const request of workload.requests) if (!firsts.has(request.tenant)) firsts.set(request.tenant, request);
  const requests = [...firsts.values()].map((request, index) => ({ ...request, index, maxTokens: 1 }));
  const records = await runOpenLoop(target, { options: workload.options, requests }, requests.map(() => 0), { timeoutMs, runId: "prefix-warmup" });
  const failed = records.find((r) => r.outcome !== "ok");
  if (failed !== undefined) throw new Error(`prefix warm-up failed: ${failed.error}`);
}

/** `count` requests of the workload's shape on other prefixes (the next seed), at `ratePerS`, through the target. */
async function warmPath(target: Target, workload: Workload, { count, ratePerS }: { count: number; ratePerS: number }, timeoutMs: number): Promise<void> {
  const seed = workload.options.seed + 1;
  await runOpenLoop(target, buildWorkload({ ...workload.options, seed, requests: count }), poissonArrivalsMs(count, ratePerS, seed), { timeoutMs, runId: "path-warmup" });
}

async function waitForReadyWorkers(address: string, workers: number): Promise<void> {
  const client = createClient({ address, retry: { maxAttempts: 1 } });
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const models = await client.listModels({ timeoutMs: 1_000 }).catch(() => []);
      if ((models.find((m) => m.id === MODEL)?.readyWorkers ?? 0) >= workers) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the router did not see ${workers} ready workers within ${READY_TIMEOUT_MS} ms`);
  } finally {
    client.close();
  }
}

/** A few short requests straight to every worker, so ONNX Runtime's first runs are not measured; their tokens share no block with the workload. */
async function warmUp(cluster: BenchCluster, seed: number): Promise<void> {
  const random = mulberry32(seed ^ 0x0bad_cafe);
  await Promise.all(
    cluster.workerAddresses.map(async (address, w) => {
      const target = workerTarget(address);
      try {
        for (let i = 0; i < WARMUP_REQUESTS; i++) {
          const promptTokenIds = Array.from({ length: WARMUP_PROMPT_TOKENS }, () => Math.floor(random() * 256));
          for await (const _event of target.generate({ index: i, tenant: -1, promptTokenIds, maxTokens: 4 }, `warmup-w${w}-${i}`, 10_000));
        }
      } finally {
        target.close();
      }
    }),
  );
}

export async function measure(label: string, config: ClusterConfig, workload: Workload, load: Load, options: { seed: number; timeoutMs: number }): Promise<Measurement> {
  const startedMs = performance.now();
  const cluster = await startBenchCluster({
    workers: config.workers,
    policy: config.policy,
    workerFlags: ["--kv-device-mib", String(config.kvDeviceMib), ...(config.workerFlags ?? [])],
    ...(config.routerFlags === undefined ? {} : { routerFlags: config.routerFlags }),
    ...(config.modelDir === undefined ? {} : { modelDir: config.modelDir }),
  });
  let target: Target | undefined;
  try {
    await waitForReadyWorkers(cluster.routerAddress, config.workers);
    await warmUp(cluster, options.seed);
    target = config.direct ? workerTarget(cluster.workerAddresses[0]!) : routerTarget(cluster.routerAddress);
    if (config.warmupRequests !== undefined) await warmPath(target, workload, config.warmupRequests, options.timeoutMs);
    if (config.warmPrefixes === true) await warmPrefixes(target, workload, options.timeoutMs);
    const loadOptions = { timeoutMs: options.timeoutMs, runId: label.replaceAll(/[^\w.=-]+/g, "-") };
    const cpuBefore = { router: processCpuMs(cluster.routerPid), workers: sum(cluster.workerPids.map(processCpuMs)) };
    const loadStartedMs = performance.now();
    const records = load.mode === "poisson" ? await runOpenLoop(target, workload, load.arrivalsMs, loadOptions) : await runClosedLoop(target, workload, load.concurrency, load.maxSeconds, loadOptions);
    const wallMs = performance.now() - loadStartedMs;
    const cpuMs = { router: processCpuMs(cluster.routerPid) - cpuBefore.router, workers: sum(cluster.workerPids.map(processCpuMs)) - cpuBefore.workers };
    const s = summarize([records]);
    const failure = records.find((r) => r.outcome !== "ok")?.error;
    process.stderr.write(
      `serve: ${label}: ${s.ok}/${s.requests} ok, ttft p50 ${s.ttft.p50.toFixed(1)} ms p99 ${s.ttft.p99.toFixed(1)} ms, prefix hits ${s.prefixHitRate.toFixed(3)}, ${((performance.now() - startedMs) / 1000).toFixed(1)} s${failure === undefined ? "" : ` (first failure: ${failure})`}\n`,
    );
    return { records, cpuMs, wallMs };
  } finally {
    target?.close();
    await cluster.stop();
  }
}
