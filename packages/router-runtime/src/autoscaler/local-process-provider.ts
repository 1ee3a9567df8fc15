/**
 * ScaleProvider for one machine: worker processes this router starts and
 * stops (`sigmaserve up --autoscale MIN..MAX`). The router owns them: they
 * inherit its stdout and stderr, and close() stops every one it started.
 * Each gets the next id `<prefix>-<n>` (never reused, so a restarted worker
 * is a new one to the registry). One router per machine: a second router's
 * provider would not see the first one's processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import { ScaleProviderError, type ScaleProvider } from "./scale-provider.js";

/** How long a removed worker may take to exit after SIGTERM before it is killed, ms (it is drained already). */
const EXIT_GRACE_MS = 30_000;

export interface LocalProcessProviderOptions {
  /** The worker's command line (argv[0] is the executable); `--worker-id <id>` is appended. */
  command: readonly string[];
  idPrefix?: string;
  logger: Logger;
}

export class LocalProcessProvider implements ScaleProvider {
  readonly kind = "local-process";
  private readonly children = new Map<string, { child: ChildProcess; leaving: boolean }>();
  private next = 0;

  constructor(private readonly options: LocalProcessProviderOptions) {
    if (options.command.length === 0) throw new ScaleProviderError("not_found", "the worker command is empty");
  }

  async desiredReplicas(): Promise<number> {
    return [...this.children.values()].filter((c) => !c.leaving && c.child.exitCode === null && c.child.signalCode === null).length;
  }

  /** Ids of the processes alive, for logs and tests. */
  workerIds(): string[] {
    return [...this.children.entries()].filter(([, c]) => c.child.exitCode === null && c.child.signalCode === null).map(([id]) => id);
  }

  async addWorker(): Promise<void> {
    const workerId = `${this.options.idPrefix ?? "worker"}-${this.next++}`;
    const [file, ...args] = this.options.command;
    const child = spawn(file!, [...args, "--worker-id", workerId], { stdio: ["ignore", "inherit", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => reject(new ScaleProviderError("unavailable", `cannot start ${file}: ${err.message}`, { cause: err })));
    });
    this.children.set(workerId, { child, leaving: false });
    child.once("exit", (code, signal) => {
      const entry = this.children.get(workerId);
      if (entry !== undefined && !entry.leaving) this.options.logger.warn({ workerId, code, signal }, "local-process provider: a worker exited on its own");
      this.children.delete(workerId);
    });
    this.options.logger.info({ workerId, pid: child.pid }, "local-process provider: started a worker");
  }

  async removeWorker(workerId: string): Promise<void> {
    const entry = this.children.get(workerId);
    if (entry === undefined) throw new ScaleProviderError("not_found", `no worker process ${workerId} started by this router`);
    entry.leaving = true;
    await stopChild(entry.child);
    this.options.logger.info({ workerId }, "local-process provider: stopped a worker");
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(async (entry) => {
        entry.leaving = true;
        await stopChild(entry.child);
      }),
    );
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
