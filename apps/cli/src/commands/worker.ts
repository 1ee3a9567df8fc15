/**
 * `sigmaserve worker ...`: starts the worker process (apps/worker) with the
 * same flags, passes SIGINT/SIGTERM on so it drains, and exits with its code.
 * The CLI starts apps as processes; it never imports their code.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { CommandIo } from "../command-io.js";

/** Path of the worker's entry point, from its installed package. */
export function workerEntryPoint(): string {
  const manifest = createRequire(import.meta.url).resolve("@sigmaserve/worker/package.json");
  return join(dirname(manifest), "dist", "main.js");
}

export async function worker(argv: string[], _io: CommandIo): Promise<void> {
  const child = spawn(process.execPath, [workerEntryPoint(), ...argv], { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    process.exitCode = code ?? (signal === null ? 1 : 128);
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}
