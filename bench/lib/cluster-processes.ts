/**
 * A real local cluster for benchmarks: a nats-server from testkit, worker
 * processes and a router process, each started from its built entry point
 * (dist/main.js) on ports the OS picks. `stop()` kills every one of them and
 * waits for the exits; a process that is still alive when the bench process
 * exits (a crash, an uncaught error) is killed by an exit hook, so no process
 * outlives the bench. BENCH_NODE_ARGS (space-separated) goes to every child's
 * node before the entry point, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile the processes of a run; a profile is written at a clean exit
 * only, so set BENCH_STOP_SIGNAL=SIGTERM with it (stop() sends SIGKILL
 * otherwise).
 */
import { startNatsServer } from "@sigmaserve/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const entry = (pkg: string) => join(dirname(require.resolve(`${pkg}/package.json`)), "dist", "main.js");

/** Time a worker or the router has to log that it listens. */
export const PROCESS_READY_TIMEOUT_MS = 30_000;

/** Every child still running; the exit hook kills what is left. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

export interface ClusterProcess {
  readonly child: ChildProcess;
  /** The JSON log line that announced it listens. */
  readonly ready: Record<string, unknown>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (exited(child)) {
    live.delete(child);
    return;
  }
  const done = once(child, "exit");
  child.kill(signal);
  await done;
  live.delete(child);
}

/** Spawns `node <pkg>/dist/main.js args` and resolves with the first JSON log line whose msg is `readyMessage`. */
export async function startClusterProcess(pkg: string, args: string[], readyMessage: string): Promise<ClusterProcess> {
  installExitHook();
  const child = spawn(process.execPath, [...(process.env["BENCH_NODE_ARGS"]?.split(" ") ?? []), entry(pkg), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const lines = createInterface({ input: child.stdout! });
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${pkg} did not log "${readyMessage}" within ${PROCESS_READY_TIMEOUT_MS} ms`)), PROCESS_READY_TIMEOUT_MS);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${pkg} exited (${code ?? signal}) before it was ready`));
      });
      // Every line is read (and dropped once ready), so the child never blocks on a full pipe.
      lines.on("line", (line) => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (parsed["msg"] === readyMessage) {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
    return { child, ready, kill: (signal = "SIGKILL") => killChild(child, signal) };
  } catch (err) {
    await killChild(child, "SIGKILL");
    throw err;
  }
}

export interface BenchCluster {
  natsUrl: string;
  /** The router's gRPC address (host:port). */
  routerAddress: string;
  /** The router's HTTP address (OpenAI API, /v1/cluster). */
  routerHttpAddress: string;
  /** Each worker's gRPC address, in start order (worker ids w0, w1, ...). */
  workerAddresses: string[];
  /** Process ids, for CPU accounting. */
  routerPid: number;
  workerPids: number[];
  stop(): Promise<void>;
}

export interface BenchClusterOptions {
  workers: number;
  policy: string;
  workerFlags?: string[];
  routerFlags?: string[];
  /** A model directory for the workers instead of the sigma-tiny preset. */
  modelDir?: string;
}

/** nats-server, `workers` sigma-tiny workers, then the router; on any failure everything started so far is stopped. */
export async function startBenchCluster(options: BenchClusterOptions): Promise<BenchCluster> {
  const nats = await startNatsServer();
  const started: ClusterProcess[] = [];
  const stop = async () => {
    // The router first, so it sees no worker vanish under a request.
    const signal = process.env["BENCH_STOP_SIGNAL"] === "SIGTERM" ? "SIGTERM" : "SIGKILL";
    for (const proc of [...started].reverse()) await proc.kill(signal);
    await nats.stop();
  };
  try {
    // Started side by side; all settle before any failure is thrown, so stop() sees every process.
    const settled = await Promise.allSettled(
      Array.from({ length: options.workers }, (_, i) =>
        startClusterProcess("@sigmaserve/worker", [...(options.modelDir === undefined ? ["--preset", "sigma-tiny"] : ["--model", options.modelDir]), "--port", "0", "--worker-id", `w${i}`, "--nats", nats.url, ...(options.workerFlags ?? [])], "worker listening"),
      ),
    );
    const workers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    started.push(...workers);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const router = await startClusterProcess("@sigmaserve/router", ["--nats", nats.url, "--policy", options.policy, ...(options.routerFlags ?? [])], "router listening");
    started.push(router);
    return {
      natsUrl: nats.url,
      routerAddress: router.ready["grpc"] as string,
      routerHttpAddress: router.ready["http"] as string,
      workerAddresses: workers.map((w) => w.ready["address"] as string),
      routerPid: router.child.pid!,
      workerPids: workers.map((w) => w.child.pid!),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
