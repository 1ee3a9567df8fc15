/**
 * A real local cluster for cross-process tests: a nats-server from testkit,
 * worker processes and a router process, each started from its built
 * entry point (dist/main.js) on ports the OS picks, all stopped by `stop()`.
 */
import { startNatsServer, type NatsServerHandle } from "@sigmaserve/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
export const entry = (pkg: string) => join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "main.js");

export interface ProcessHandle {
  readonly child: ChildProcess;
  /** The JSON log line that announced it listens. */
  readonly ready: Record<string, unknown>;
  readonly logs: Record<string, unknown>[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `nodeArgs` go before the entry point (e.g. `--import` a preload that records what the process loads). */
async function startProcess(pkg: string, args: string[], readyMessage: string, nodeArgs: string[] = []): Promise<ProcessHandle> {
  const child = spawn(process.execPath, [...nodeArgs, entry(pkg), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const logs: Record<string, unknown>[] = [];
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${pkg} exited with ${code} before it was ready`)));
    lines.on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry["msg"] === readyMessage) resolve(entry);
    });
  });
  return {
    child,
    ready,
    logs,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
  };
}

export interface Cluster {
  /** The NATS URL the cluster uses. */
  natsUrl: string;
  workers: ProcessHandle[];
  router: ProcessHandle;
  grpcAddress: string;
  httpAddress: string;
  workerAddress(index: number): string;
  /** Starts one more worker process on the cluster's NATS (it joins `workers`); `id` is its worker id. */
  addWorker(id: string, flags: string[]): Promise<ProcessHandle>;
  /** Starts another router process on the cluster's NATS (stopped by stop() too). */
  addRouter(flags: string[]): Promise<ProcessHandle>;
  stop(): Promise<void>;
}

export async function startCluster(options: {
  workers: number;
  policy?: string;
  workerFlags?: string[];
  /** Flags for worker i on top of workerFlags (e.g. a --role per worker). */
  perWorkerFlags?: string[][];
  routerFlags?: string[];
  natsUrl?: string;
  /** Node's own flags for the worker and the router processes (before the entry point). */
  workerNodeArgs?: string[];
  routerNodeArgs?: string[];
}): Promise<Cluster> {
  // An external server (e.g. a restartable one) is the caller's to stop.
  const nats: Pick<NatsServerHandle, "url" | "stop"> = options.natsUrl === undefined ? await startNatsServer() : { url: options.natsUrl, stop: async () => {} };
  const workers: ProcessHandle[] = [];
  const startWorker = (id: string, flags: string[]) =>
    startProcess("@sigmaserve/worker", ["--preset", "sigma-tiny", "--port", "0", "--worker-id", id, "--nats", nats.url, ...flags], "worker listening", options.workerNodeArgs);
  let router: ProcessHandle | undefined;
  try {
    for (let i = 0; i < options.workers; i++) workers.push(await startWorker(`w${i}`, [...(options.workerFlags ?? []), ...(options.perWorkerFlags?.[i] ?? [])]));
    router = await startProcess("@sigmaserve/router", ["--nats", nats.url, "--policy", options.policy ?? "kv_aware", ...(options.routerFlags ?? [])], "router listening", options.routerNodeArgs);
  } catch (err) {
    await Promise.all(workers.map((w) => w.kill("SIGKILL")));
    await nats.stop();
    throw err;
  }
  const r = router;
  const routers: ProcessHandle[] = [r];
  return {
    natsUrl: nats.url,
    workers,
    router: r,
    grpcAddress: r.ready["grpc"] as string,
    httpAddress: r.ready["http"] as string,
    workerAddress: (index) => workers[index]!.ready["address"] as string,
    addWorker: async (id, flags) => {
      const worker = await startWorker(id, flags);
      workers.push(worker);
      return worker;
    },
    addRouter: async (flags) => {
      const another = await startProcess("@sigmaserve/router", ["--nats", nats.url, "--policy", options.policy ?? "kv_aware", ...flags], "router listening", options.routerNodeArgs);
      routers.push(another);
      return another;
    },
    stop: async () => {
      await Promise.all(routers.map((router) => router.kill("SIGKILL")));
      await Promise.all(workers.map((w) => w.kill("SIGKILL")));
      await nats.stop();
    },
  };
}
