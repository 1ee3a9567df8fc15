/**
 * A bench cluster (bench/lib/cluster-processes.ts: nats-server, worker
 * processes w0..wN-1, a router) plus what the migrate bench drives it with:
 * its own connection to the bus (to ask a source to migrate) and a gRPC
 * client per worker. `stop()` closes those, then stops the cluster.
 */
import { connectNatsCoordBus, type CoordBus } from "@sigmaserve/coord";
import { createGrpcClient, messageSizeOptions, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { startBenchCluster, type BenchCluster, type BenchClusterOptions } from "../lib/cluster-processes.js";

export type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

export interface BenchWorkers {
  cluster: BenchCluster;
  bus: CoordBus;
  /** Worker ids, in start order. */
  ids: string[];
  clients: WorkerClient[];
  stop(): Promise<void>;
}

export async function startBenchWorkers(options: BenchClusterOptions): Promise<BenchWorkers> {
  const cluster = await startBenchCluster(options);
  const clients: WorkerClient[] = [];
  let bus: CoordBus | undefined;
  const stop = async () => {
    for (const client of clients) client.close();
    await bus?.close();
    await cluster.stop();
  };
  try {
    const ids = cluster.workerAddresses.map((_, i) => `w${i}`);
    for (const address of cluster.workerAddresses) clients.push(createGrpcClient(workerv1.WorkerService, address, { channelOptions: messageSizeOptions(256 * 2 ** 20) }));
    bus = await connectNatsCoordBus({ servers: cluster.natsUrl, name: "migrate-bench" });
    // The peers must see each other in the registry before anything migrates.
    const watch = await bus.watchWorkers(() => {});
    while (ids.some((id) => !watch.workers().has(id))) await new Promise((r) => setTimeout(r, 20));
    await watch.close();
    return { cluster, bus, ids, clients, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs one request on a worker and returns its wall time (ms) and cached prompt tokens. */
export async function runOnWorker(client: WorkerClient, requestId: string, model: string, prompt: number[], maxTokens = 1): Promise<{ ms: number; cached: number }> {
  const started = performance.now();
  let cached = -1;
  for await (const m of client.generate({ requestId, model, promptTokenIds: prompt, sampling: { temperature: 0, maxTokens, ignoreEos: true } }, { timeoutMs: 600_000 })) {
    if (m.event.case === "finish") cached = m.event.value.usage?.cachedPromptTokens ?? 0;
  }
  return { ms: performance.now() - started, cached };
}
