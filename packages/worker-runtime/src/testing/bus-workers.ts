/**
 * Real workers in one process on one in-memory CoordBus hub, for the
 * migration tests: each has its own bus (as each process has its own NATS
 * connection) and a gRPC client to its WorkerService. `stopAll()` stops the
 * workers, then their buses.
 */
import { MemoryCoordHub, createMemoryCoordBus, type CoordBus } from "@sigmaserve/coord";
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker, type StartWorkerOptions, type WorkerRuntime } from "../worker-runtime.js";

export type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

export interface BusWorker {
  id: string;
  runtime: WorkerRuntime;
  client: WorkerClient;
  bus: CoordBus;
}

export class BusWorkers {
  readonly hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
  private readonly started: BusWorker[] = [];

  /** A sigma-tiny worker with `id` and `flags` on the hub. */
  async start(id: string, flags: string[] = [], options: StartWorkerOptions = {}): Promise<BusWorker> {
    const bus = createMemoryCoordBus({ hub: this.hub });
    const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--worker-id", id, ...flags], {}), pino({ level: "silent" }), { ...options, bus });
    const worker = { id, runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address), bus };
    this.started.push(worker);
    return worker;
  }

  async stopAll(): Promise<void> {
    for (const w of this.started.splice(0)) {
      w.client.close();
      await w.runtime.stop().catch(() => {});
      await w.bus.close();
    }
  }
}

/** Runs one request to its end on a worker: the tokens and the finish's cached prompt tokens. */
export async function generateOn(
  client: WorkerClient,
  requestId: string,
  prompt: number[],
  sampling: { temperature?: number; maxTokens?: number; ignoreEos?: boolean } = { temperature: 0, maxTokens: 8, ignoreEos: true },
): Promise<{ tokens: number[]; cachedPromptTokens: number }> {
  const tokens: number[] = [];
  let cachedPromptTokens = -1;
  for await (const m of client.generate({ requestId, model: "sigma-tiny", promptTokenIds: prompt, sampling })) {
    if (m.event.case === "chunk") tokens.push(...m.event.value.tokenIds);
    else if (m.event.case === "finish") cachedPromptTokens = m.event.value.usage!.cachedPromptTokens;
  }
  return { tokens, cachedPromptTokens };
}
