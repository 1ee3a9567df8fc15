/**
 * Real worker processes on a real nats-server for the migrate bench, plus the
 * bench's own connection to the bus (to ask a source to migrate) and a gRPC
 * client per worker. Everything started is stopped by `stop()`: SIGKILL, or
 * SIGTERM with BENCH_STOP_SIGNAL=SIGTERM (so profiles from BENCH_NODE_ARGS
 * "--cpu-prof" get written).
 */
import { connectNatsCoordBus, type CoordBus } from "@sigmaserve/coord";
import { createGrpcClient, messageSizeOptions, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { startNatsServer } from "@sigmaserve/testkit";
import { startClusterProcess, type ClusterProcess } from "../lib/cluster-processes.js";

export type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

export interface BenchWorkers {
  bus: CoordBus;
  natsUrl: string;
  ids: string[];
  clients: WorkerClient[];
  addresses: string[];
  processes: ClusterProcess[];
  stop(): Promise<void>;
}

export async function startBenchWorkers(count: number, flags: string[], options: { router?: string[] } = {}): Promise<BenchWorkers & { routerAddress?: string }> {
  const nats = await startNatsServer();
  const processes: ClusterProcess[] = [];
  const clients: WorkerClient[] = [];
  let bus: CoordBus | undefined;
  const stop = async () => {
    for (const client of clients) client.close();
    await bus?.close();
    for (const proc of [...processes].reverse()) await proc.kill(process.env["BENCH_STOP_SIGNAL"] === "SIGTERM" ? "SIGTERM" : "SIGKILL");
    await nats.stop();
  };
  try {
    const ids = Array.from({ length: count }, (_, i) => `m${i}`);
    for (const id of ids) processes.push(await startClusterProcess("@sigmaserve/worker", ["--port", "0", "--worker-id", id, "--nats", nats.url, ...flags], "worker listening"));
    const addresses = processes.map((p) => p.ready["address"] as string);
    for (const address of addresses) clients.push(createGrpcClient(workerv1.WorkerService, address, { channelOptions: messageSizeOptions(256 * 2 ** 20) }));
    let routerAddress: string | undefined;
    if (options.router !== undefined) {
      const router = await startClusterProcess("@sigmaserve/router", ["--nats", nats.url, ...options.router], "router listening");
      processes.push(router);
      routerAddress = router.ready["grpc"] as string;
    }
    bus = await connectNatsCoordBus({ servers: nats.url, name: "migrate-bench" });
    // The peers must see each other in the registry before anything migrates.
    const watch = await bus.watchWorkers(() => {});
    while (ids.some((id) => !watch.workers().has(id))) await new Promise((r) => setTimeout(r, 20));
    await watch.close();
    return { bus, natsUrl: nats.url, ids, clients, addresses, processes, stop, ...(routerAddress === undefined ? {} : { routerAddress }) };
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
