/**
 * Starting the apps as child processes (the CLI never imports their code):
 * resolves an app's built entry point from its installed package, spawns it,
 * and reads its JSON log lines until the one that says it is ready.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

export function appEntryPoint(pkg: "@sigmaserve/worker" | "@sigmaserve/router"): string {
  return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), "dist", "main.js");
}

export interface SpawnedApp {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

/** Spawns `pkg` with `args`; resolves when it logs `readyMessage`, echoing its log lines through `onLog`. */
export function spawnApp(pkg: "@sigmaserve/worker" | "@sigmaserve/router", args: string[], readyMessage: string, onLog: (line: string) => void): Promise<SpawnedApp> {
  const child = spawn(process.execPath, [appEntryPoint(pkg), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${pkg} exited (code ${code}) before it was ready`));
    child.once("exit", onExit);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      onLog(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry["msg"] === readyMessage) {
          child.off("exit", onExit);
          resolve({ child, ready: entry });
        }
      } catch {
        // not a JSON log line
      }
    });
  });
}
