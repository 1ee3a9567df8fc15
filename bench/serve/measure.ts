/**
 * One measured configuration: a fresh cluster (so caches start cold), wait
 * until the router sees every worker, warm ONNX Runtime up, run the load, and
 * stop every process whatever happens.
 */
import { createClient } from "@sigmaserve/client";
import { startBenchCluster, type BenchCluster } from "../lib/cluster-processes.js";
import { runClosedLoop, runOpenLoop, type RequestRecord } from "./load-generator.js";
import { summarize } from "./percentiles.js";
import { MODEL, routerTarget, workerTarget, type Target } from "./targets.js";
import { mulberry32 } from "../lib/mulberry32.js";
import type { Workload } from "./workload.js";

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

export async function measure(label: string, config: ClusterConfig, workload: Workload, load: Load, options: { seed: number; timeoutMs: number }): Promise<RequestRecord[]> {
  const startedMs = performance.now();
  const cluster = await startBenchCluster({ workers: config.workers, policy: config.policy, workerFlags: ["--kv-device-mib", String(config.kvDeviceMib)] });
  let target: Target | undefined;
  try {
    await waitForReadyWorkers(cluster.routerAddress, config.workers);
    await warmUp(cluster, options.seed);
    target = config.direct ? workerTarget(cluster.workerAddresses[0]!) : routerTarget(cluster.routerAddress);
    const loadOptions = { timeoutMs: options.timeoutMs, runId: label.replaceAll(/[^\w.=-]+/g, "-") };
    const records = load.mode === "poisson" ? await runOpenLoop(target, workload, load.arrivalsMs, loadOptions) : await runClosedLoop(target, workload, load.concurrency, load.maxSeconds, loadOptions);
    const s = summarize([records]);
    const failure = records.find((r) => r.outcome !== "ok")?.error;
    process.stderr.write(
      `serve: ${label}: ${s.ok}/${s.requests} ok, ttft p50 ${s.ttft.p50.toFixed(1)} ms p99 ${s.ttft.p99.toFixed(1)} ms, prefix hits ${s.prefixHitRate.toFixed(3)}, ${((performance.now() - startedMs) / 1000).toFixed(1)} s${failure === undefined ? "" : ` (first failure: ${failure})`}\n`,
    );
    return records;
  } finally {
    target?.close();
    await cluster.stop();
  }
}
