/**
 * `sigmaserve up` without NATS: N workers and the router in this one process,
 * coordinated over the in-memory CoordBus (the same interface as NATS: the
 * registry with TTL heartbeats, KV events, drain control). Each worker still
 * serves gRPC on loopback, so the router, `sigmaserve status` and `drain`
 * reach it exactly as they would a worker process.
 */
import type { CoordBus, MemoryCoordHub } from "@sigmaserve/coord";
import type { RouterRuntime } from "@sigmaserve/router-runtime";
import type { WorkerRuntime } from "@sigmaserve/worker-runtime";
import type { Logger } from "pino";

/** How long Ctrl-C lets running requests finish before they are cancelled, ms (as the worker process's SIGTERM). */
export const SINGLE_PROCESS_GRACE_MS = 30_000;

export interface SingleProcessClusterOptions {
  workers: number;
  preset: string;
  grpcPort: number;
  httpPort: number;
  policy?: string;
  /** The router records prompt and output text on its spans (--trace-content). */
  traceContent?: boolean;
  logger: Logger;
}

export interface SingleProcessCluster {
  readonly workers: readonly WorkerRuntime[];
  readonly router: RouterRuntime;
  /** Router first (no new requests), then the workers drain, then the bus. */
  stop(graceMs?: number): Promise<void>;
}

export async function startSingleProcessCluster(options: SingleProcessClusterOptions): Promise<SingleProcessCluster> {
  // Loaded here, not at the top: every other command would otherwise pay for loading ORT and the native kernel.
  const [{ MemoryCoordHub, createMemoryCoordBus }, { loadWorkerConfig, startWorker }, { loadRouterConfig, startRouter }] = await Promise.all([
    import("@sigmaserve/coord"),
    import("@sigmaserve/worker-runtime"),
    import("@sigmaserve/router-runtime"),
  ]);
  const hub: MemoryCoordHub = new MemoryCoordHub();
  const buses: CoordBus[] = [];
  const busOnHub = (): CoordBus => {
    const bus = createMemoryCoordBus({ hub, onError: (err) => options.logger.warn({ err }, "memory bus") });
    buses.push(bus);
    return bus;
  };
  const workers: WorkerRuntime[] = [];
  let router: RouterRuntime | undefined;
  const stop = async (graceMs = SINGLE_PROCESS_GRACE_MS): Promise<void> => {
    await router?.stop();
    await Promise.all(workers.map((worker) => worker.stop({ graceMs })));
    await Promise.all(buses.map((bus) => bus.close()));
    hub.close();
  };
  try {
    for (let i = 0; i < options.workers; i++) {
      const config = loadWorkerConfig(["--preset", options.preset, "--port", "0", "--worker-id", `worker-${i}`], {});
      workers.push(await startWorker(config, options.logger.child({ worker: config.workerId }), { bus: busOnHub() }));
    }
    const routerConfig = loadRouterConfig(
      ["--grpc-port", String(options.grpcPort), "--http-port", String(options.httpPort), ...(options.policy === undefined ? [] : ["--policy", options.policy]), ...(options.traceContent === true ? ["--trace-content"] : [])],
      {},
    );
    router = await startRouter(routerConfig, options.logger.child({ component: "router" }), { bus: busOnHub() });
    return { workers, router, stop };
  } catch (err) {
    await stop(0);
    throw err;
  }
}
