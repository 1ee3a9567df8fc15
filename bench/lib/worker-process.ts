/**
 * Starts a real worker process for a benchmark and returns its address;
 * `stop()` sends SIGTERM and waits for the exit.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

export async function startWorkerProcess(flags: string[]): Promise<{ address: string; metricsAddress?: string; pid: number; stop(): Promise<void> }> {
  const main = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/worker/package.json")), "dist", "main.js");
  const child = spawn(process.execPath, [main, ...flags], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; address?: string; metricsAddress?: string };
    if (entry.msg === "worker listening" && entry.address !== undefined) {
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout!.resume();
      return {
        address: entry.address,
        ...(entry.metricsAddress === undefined ? {} : { metricsAddress: entry.metricsAddress }),
        pid: child.pid!,
        stop: async () => {
          child.kill("SIGTERM");
          await once(child, "exit");
        },
      };
    }
  }
  throw new Error("the worker exited before it listened");
}
