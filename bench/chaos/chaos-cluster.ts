/**
 * The processes a chaos scenario breaks: a nats-server (restartable, so a
 * scenario can stop it and start it again on the same port), worker and
 * router processes started from their built entry points through
 * bench/lib/cluster-processes.ts. Each handle keeps its pid, so a scenario can
 * SIGKILL, SIGSTOP or SIGCONT exactly the process it means to; `stop()` kills
 * whatever is left (a SIGSTOPped process is continued first).
 */
import { createRestartableNatsServer, type RestartableNatsServer } from "@sigmaserve/testkit";
import { startClusterProcess, type ClusterProcess } from "../lib/cluster-processes.js";

export interface ChaosProcess {
  readonly id: string;
  readonly pid: number;
  /** gRPC host:port (a worker's WorkerService, a router's InferenceService). */
  readonly grpcAddress: string;
  /** A router's HTTP host:port; "" for a worker. */
  readonly httpAddress: string;
  readonly process: ClusterProcess;
  /** True once it exited (killed or crashed). */
  exited(): boolean;
}

export interface ChaosCluster {
  readonly nats: RestartableNatsServer;
  readonly workers: ChaosProcess[];
  readonly routers: ChaosProcess[];
  addWorker(id: string, flags?: string[]): Promise<ChaosProcess>;
  addRouter(flags?: string[]): Promise<ChaosProcess>;
  /** SIGKILLs one process and waits for its exit. */
  kill(proc: ChaosProcess): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosClusterOptions {
  workers: number;
  workerFlags?: string[];
  routerFlags?: string[];
  /** Routers to start (0: the scenario adds its own). Default 1. */
  routers?: number;
}

function handle(id: string, proc: ClusterProcess): ChaosProcess {
  const ready = proc.ready;
  return {
    id,
    pid: proc.child.pid!,
    grpcAddress: String(ready["address"] ?? ready["grpc"] ?? ""),
    httpAddress: String(ready["http"] ?? ""),
    process: proc,
    exited: () => proc.child.exitCode !== null || proc.child.signalCode !== null,
  };
}

export async function startChaosCluster(options: ChaosClusterOptions): Promise<ChaosCluster> {
  const nats = await createRestartableNatsServer();
  await nats.start();
  const workers: ChaosProcess[] = [];
  const routers: ChaosProcess[] = [];
  let nextRouter = 0;
  const cluster: ChaosCluster = {
    nats,
    workers,
    routers,
    async addWorker(id, flags = []) {
      const proc = await startClusterProcess("@sigmaserve/worker", ["--preset", "sigma-tiny", "--port", "0", "--worker-id", id, "--nats", nats.url, ...(options.workerFlags ?? []), ...flags], "worker listening");
      const worker = handle(id, proc);
      workers.push(worker);
      return worker;
    },
    async addRouter(flags = []) {
      const proc = await startClusterProcess("@sigmaserve/router", ["--nats", nats.url, "--policy", "kv_aware", "--router-id", `r${nextRouter}`, ...(options.routerFlags ?? []), ...flags], "router listening");
      const router = handle(`r${nextRouter++}`, proc);
      routers.push(router);
      return router;
    },
    async kill(proc) {
      await proc.process.kill("SIGKILL");
    },
    async stop() {
      for (const proc of [...routers, ...workers]) {
        // NOTE: a scenario that failed between SIGSTOP and SIGCONT may leave a process stopped; continue it so nothing stays frozen.
        if (!proc.exited()) proc.process.child.kill("SIGCONT");
        await proc.process.kill("SIGKILL");
      }
      await nats.dispose();
    },
  };
  try {
    await Promise.all(Array.from({ length: options.workers }, (_, i) => cluster.addWorker(`w${i}`)));
    for (let i = 0; i < (options.routers ?? 1); i++) await cluster.addRouter();
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
