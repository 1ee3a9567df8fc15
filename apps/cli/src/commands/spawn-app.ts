/**
 * Starting the apps as child processes (the CLI never imports their code):
 * resolves an app's built entry point from its installed package, spawns it,
 * and reads its JSON log lines until the one that says it is ready. Its
 * stderr is kept until then: when it exits first, the error names its last
 * stderr line (the app's one-line reason) instead of leaving a trace on screen.
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

/** stderr lines kept while an app starts, for the error when it exits first. */
const STARTUP_STDERR_LINES = 20;

/**
 * Spawns `pkg` with `args`; resolves when it logs `readyMessage`. Its log lines (stdout) go through `onLog`
 * from the start, its stderr lines once it is ready. `label` ("worker-0") names it in errors; `onSpawn`
 * receives the process as soon as it exists.
 */
export function spawnApp(
  pkg: "@sigmaserve/worker" | "@sigmaserve/router",
  args: string[],
  readyMessage: string,
  onLog: (line: string) => void,
  options: { label?: string; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<SpawnedApp> {
  const label = options.label ?? pkg;
  const child = spawn(process.execPath, [appEntryPoint(pkg), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  // The caller owns it from now on (to stop it if start-up fails elsewhere), not only once it is ready.
  options.onSpawn?.(child);
  const stderr: string[] = [];
  let ready = false;
  createInterface({ input: child.stderr! }).on("line", (line) => {
    if (ready) return onLog(line);
    stderr.push(line);
    if (stderr.length > STARTUP_STDERR_LINES) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    // "close", not "exit": by then its stderr has been read to the end.
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      const reason = stderr.filter((line) => line.trim() !== "").at(-1);
      reject(new Error(`${label} exited (${signal === null ? `code ${code}` : signal}) before it was ready${reason === undefined ? "" : `: ${reason.trim()}`}`));
    };
    child.once("close", onClose);
    child.once("error", (err) => reject(new Error(`${label} could not start: ${err.message}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      onLog(line);
      if (ready) return;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry["msg"] === readyMessage) {
          ready = true;
          child.off("close", onClose);
          for (const kept of stderr.splice(0)) onLog(kept);
          resolve({ child, ready: entry });
        }
      } catch {
        // not a JSON log line
      }
    });
  });
}
