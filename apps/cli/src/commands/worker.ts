/**
 * `sigmaserve worker ...` and `sigmaserve router ...`: start the app's
 * process with the same flags (its --help, --log-level), pass SIGINT/SIGTERM on
 * (a worker drains), and exit with its code. The CLI starts apps as processes; it never imports their code.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { CommandIo } from "../command-io.js";
import { ExitCode } from "../usage-error.js";
import { appEntryPoint } from "./spawn-app.js";

export const worker = (argv: string[], io: CommandIo): Promise<void> => runApp("@sigmaserve/worker", argv, io);
export const router = (argv: string[], io: CommandIo): Promise<void> => runApp("@sigmaserve/router", argv, io);

async function runApp(pkg: "@sigmaserve/worker" | "@sigmaserve/router", argv: string[], _io: CommandIo): Promise<void> {
  const child = spawn(process.execPath, [appEntryPoint(pkg), ...argv], { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    const exitCode = code ?? (signal === null ? 1 : 128);
    if (exitCode !== 0) throw new ExitCode(exitCode);
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}
