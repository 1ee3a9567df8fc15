/**
 * The soak's cluster, kept alive through faults: a nats-server, one router
 * and `workers` workers, each a real process from its built entry point.
 * Unlike bench/lib's startBenchCluster, workers come and go: `startWorker`
 * adds one with a fresh id (w0, w1, ... never reused, so the router sees a
 * replacement as a new worker, as in production), `retire` ends one (SIGKILL
 * for a crash, SIGTERM after a drain). An observer router (`startRouter`)
 * can join at the end: it builds its KV index from the workers' snapshots
 * alone, which is the resync the drift check compares against. Each
 * process's noteworthy log lines (warnings, errors, requests that failed,
 * handovers) are kept for the report.
 */
import { startNatsServer, type NatsServerHandle } from "@sigmaserve/testkit";
import { createInterface } from "node:readline";
import { startClusterProcess, type ClusterProcess } from "../lib/cluster-processes.js";

export interface FleetProcess {
  /** w<n>, router, observer. */
  readonly id: string;
  readonly role: "worker" | "router" | "nats";
  readonly pid: number;
  readonly startedAtMs: number;
  /** performance.now() when it was retired; undefined while it runs. */
  endedAtMs?: number;
}

export interface FleetWorker extends FleetProcess {
  readonly role: "worker";
  /** gRPC host:port. */
  readonly address: string;
  /** The worker's /metrics host:port. */
  readonly metricsAddress: string;
  readonly proc: ClusterProcess;
}

export interface FleetRouter extends FleetProcess {
  readonly role: "router";
  readonly grpcAddress: string;
  readonly httpAddress: string;
  readonly proc: ClusterProcess;
}

export interface FleetOptions {
  workerFlags: string[];
  routerFlags: string[];
}

/** How long a worker may take to exit after SIGTERM before it is SIGKILLed, ms. */
export const EXIT_GRACE_MS = 20_000;
/** Log lines kept per process, at most (the first ones; later ones are counted in `droppedLines`). */
export const KEPT_LOG_LINES = 300;

/** A log line worth keeping: warn and above, a request that did not end ok or cancelled, a handover. */
function noteworthy(entry: Record<string, unknown>): boolean {
  if (typeof entry["level"] === "number" && entry["level"] >= 40) return true;
  // NOTE: a client's cancel over gRPC logs status GrpcStatusError (CANCELLED); the soak cancels hundreds, its client records tell them apart.
  if (entry["msg"] === "request") return !["ok", "cancelled", "GrpcStatusError"].includes(entry["status"] as string);
  return typeof entry["msg"] === "string" && entry["msg"].includes("handed");
}

export class Fleet {
  /** Every process ever started (for the memory report), in start order. */
  readonly processes: FleetProcess[] = [];
  /** Noteworthy JSON log lines per process id (see `noteworthy`), for the report. */
  readonly logs = new Map<string, { lines: Record<string, unknown>[]; droppedLines: number }>();
  readonly #workers = new Map<string, FleetWorker>();
  readonly #routers: FleetRouter[] = [];
  #nextWorker = 0;

  private constructor(
    readonly nats: NatsServerHandle,
    private readonly options: FleetOptions,
  ) {
    this.processes.push({ id: "nats", role: "nats", pid: nats.pid, startedAtMs: performance.now() });
  }

  static async start(workers: number, options: FleetOptions): Promise<{ fleet: Fleet; router: FleetRouter }> {
    const fleet = new Fleet(await startNatsServer(), options);
    try {
      await Promise.all(Array.from({ length: workers }, () => fleet.startWorker()));
      const router = await fleet.startRouter("router");
      return { fleet, router };
    } catch (err) {
      await fleet.stop();
      throw err;
    }
  }

  /** Keeps the noteworthy lines of a process's stdout (startClusterProcess reads it too, and drops them). */
  #keepLogs(id: string, proc: ClusterProcess): void {
    const kept = { lines: [] as Record<string, unknown>[], droppedLines: 0 };
    this.logs.set(id, kept);
    createInterface({ input: proc.child.stdout! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!noteworthy(entry)) return;
      if (kept.lines.length < KEPT_LOG_LINES) kept.lines.push(entry);
      else kept.droppedLines++;
    });
  }

  /** The workers running now, in start order. */
  get workers(): FleetWorker[] {
    return [...this.#workers.values()];
  }

  async startWorker(): Promise<FleetWorker> {
    const id = `w${this.#nextWorker++}`;
    const proc = await startClusterProcess("@sigmaserve/worker", ["--preset", "sigma-tiny", "--port", "0", "--metrics-port", "0", "--worker-id", id, "--nats", this.nats.url, ...this.options.workerFlags], "worker listening");
    const worker: FleetWorker = { id, role: "worker", pid: proc.child.pid!, startedAtMs: performance.now(), address: proc.ready["address"] as string, metricsAddress: proc.ready["metricsAddress"] as string, proc };
    this.#keepLogs(id, proc);
    this.#workers.set(id, worker);
    this.processes.push(worker);
    return worker;
  }

  async startRouter(id: string, extraFlags: string[] = []): Promise<FleetRouter> {
    const proc = await startClusterProcess("@sigmaserve/router", ["--nats", this.nats.url, ...this.options.routerFlags, ...extraFlags], "router listening");
    const router: FleetRouter = { id, role: "router", pid: proc.child.pid!, startedAtMs: performance.now(), grpcAddress: proc.ready["grpc"] as string, httpAddress: proc.ready["http"] as string, proc };
    this.#keepLogs(id, proc);
    this.#routers.push(router);
    this.processes.push(router);
    return router;
  }

  /**
   * Ends a worker with `signal` and forgets it (SIGKILL: a crash; SIGTERM: the end of a drain). A worker
   * still there EXIT_GRACE_MS after a SIGTERM is SIGKILLed; returns false then (a shutdown that hangs).
   */
  async retire(worker: FleetWorker, signal: NodeJS.Signals): Promise<boolean> {
    this.#workers.delete(worker.id);
    const exited = worker.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), EXIT_GRACE_MS)))]);
    clearTimeout(timer);
    if (!inTime) {
      worker.proc.child.kill("SIGKILL");
      await exited;
    }
    worker.endedAtMs = performance.now();
    return inTime;
  }

  /** Routers first (they see no worker vanish under a request), then the workers, then NATS. */
  async stop(): Promise<void> {
    for (const router of this.#routers.splice(0).reverse()) {
      await router.proc.kill("SIGKILL");
      router.endedAtMs ??= performance.now();
    }
    for (const worker of this.workers) await this.retire(worker, "SIGKILL");
    await this.nats.stop();
  }
}
