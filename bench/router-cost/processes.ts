/**
 * The processes of the router-cost bench: the FAKE worker (fake-worker.ts,
 * run through tsx), the real router (apps/router's dist/main.js, as
 * bench/lib/cluster-processes.ts starts it) in front of it through a static
 * worker list, and the FLOOR relay (floor-relay.ts) beside the router. Each may be pinned to a core with `taskset -c N` (Linux), so
 * that "one router core" means one: the router on its own core, the fake
 * worker and the load generator (this process) on another. BENCH_NODE_ARGS
 * goes to the router's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; the
 * router is stopped with SIGTERM, so a profile gets written.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FAKE_WORKER_READY_MESSAGE, FLOOR_RELAY_READY_MESSAGE } from "./fake-worker-ready.js";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/** This checkout's router build. */
export const ROUTER_ENTRY = join(dirname(require.resolve("@sigmaserve/router/package.json")), "dist", "main.js");

/** Time a process has to log that it listens, ms. */
const READY_TIMEOUT_MS = 30_000;

export interface BenchProcess {
  readonly pid: number;
  readonly ready: Record<string, unknown>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Whether `taskset` can pin processes here (Linux with util-linux). */
export function canPin(): boolean {
  return spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
}

/** Pins this process (the load generator) to `core`; false when it could not. */
export function pinSelf(core: number): boolean {
  return spawnSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)], { stdio: "ignore" }).status === 0;
}

async function start(argv: string[], core: number | undefined, readyMessage: string): Promise<BenchProcess> {
  // NOTE: taskset execs the command, so the child's pid is the node process's own (its CPU is what /proc reports).
  const [command, args] = core === undefined ? [process.execPath, argv] : ["taskset", ["-c", String(core), process.execPath, ...argv]];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], cwd: here });
  live.add(child);
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(" ")} did not log "${readyMessage}" within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")} exited (${code ?? signal}) before it was ready`));
    });
    // Every line is read (the router's access log, one line per request) and dropped, so the child never blocks on a full pipe.
    lines.on("line", (line) => {
      if (!line.includes(readyMessage)) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  }).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  });
  return {
    pid: child.pid!,
    ready,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      live.delete(child);
    },
  };
}

/** The FAKE worker, streaming `tokens` one-token chunks per request. */
export function startFakeWorker(tokens: number, core: number | undefined): Promise<BenchProcess> {
  return start(["--import", "tsx", join(here, "fake-worker.ts"), "--tokens", String(tokens)], core, FAKE_WORKER_READY_MESSAGE);
}

/**
 * A real router (`entry`: this checkout's build, or another build's apps/router/dist/main.js), with the fake
 * worker as its one static worker; `logLevel` info logs one access line per request (the default in production).
 */
export function startRouter(entry: string, workerAddress: string, core: number | undefined, logLevel: string): Promise<BenchProcess> {
  const nodeArgs = process.env["BENCH_NODE_ARGS"]?.split(" ").filter((a) => a !== "") ?? [];
  return start([...nodeArgs, entry, "--workers", workerAddress, "--grpc-port", "0", "--http-port", "0", "--policy", "kv_aware", "--log-level", logLevel], core, "router listening");
}

/** The FLOOR relay (floor-relay.ts, not the router) in front of the fake worker, asking it for `tokens` tokens per request. */
export function startFloorRelay(workerAddress: string, tokens: number, core: number | undefined): Promise<BenchProcess> {
  return start(["--import", "tsx", join(here, "floor-relay.ts"), "--worker", workerAddress, "--tokens", String(tokens)], core, FLOOR_RELAY_READY_MESSAGE);
}
