/**
 * A nats-server that can be stopped and started again on the same port, for
 * the outage scenario: clients keep one URL and must find the new server there.
 * testkit's startNatsServer() picks new ports on every start, so this helper
 * follows its approach (testkit's findNatsServer and freePort, a config file
 * in a temp dir, max_payload from the deployment config, and a /bin/sh
 * watchdog that stops the server when the Node process goes away, even by
 * SIGKILL) but keeps the port, and can keep or drop the JetStream store.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findNatsServer } from "./find-nats-server.js";
import { LOOPBACK_HOST, freePort } from "./free-port.js";
import { readMaxPayload } from "./read-max-payload.js";
import { WATCHDOG_SCRIPT } from "./watchdog-script.js";

/** nats-server logs this once it accepts clients. */
const READY_LOG_LINE = "Server is ready";
const START_TIMEOUT_MS = 10_000;
/** Watchdog polls (0.1 s each) between SIGTERM and SIGKILL. */
const STOP_GRACE_POLLS = 20;
const START_ATTEMPTS = 5;

export interface RestartableNatsServer {
  /** `nats://127.0.0.1:PORT`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Starts the server; `freshStore` gives it an empty JetStream store (state lost), else it keeps the last one. */
  start(options?: { freshStore?: boolean }): Promise<void>;
  /** Stops the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
}

const livePids = new Set<number>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

export async function createRestartableNatsServer(): Promise<RestartableNatsServer> {
  const binary = findNatsServer();
  const maxPayloadBytes = await readMaxPayload();
  const tempDir = await mkdtemp(join(tmpdir(), "sigmaserve-coord-nats-"));
  const port = await freePort();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const pid of livePids) killQuietly(pid);
      for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  liveDirs.add(tempDir);
  let generation = 0;
  let storeDir = join(tempDir, "store-0");
  let running: { child: ChildProcess; pid: number; closed: Promise<void> } | undefined;

  const startOnce = async (): Promise<{ child: ChildProcess; pid: number; closed: Promise<void> } | "address-in-use"> => {
    const configFile = join(tempDir, `nats-${generation}.conf`);
    await writeFile(
      configFile,
      [`listen: ${LOOPBACK_HOST}:${port}`, `max_payload: ${maxPayloadBytes}`, "jetstream {", `  store_dir: ${JSON.stringify(storeDir)}`, "}", ""].join("\n"),
    );
    const child = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "restartable-nats-watchdog", "", String(STOP_GRACE_POLLS), binary, "-c", configFile], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin?.on("error", () => {});
    const closed = new Promise<void>((resolve) => {
      child.once("close", () => resolve());
      child.once("error", () => resolve());
    });
    let log = "";
    let stdoutText = "";
    let pid: number | undefined;
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
      // The wrapper's stdout carries one line: the server's pid.
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        stdoutText += chunk;
        if (pid !== undefined || !stdoutText.includes("\n")) return;
        pid = Number.parseInt(stdoutText, 10);
        if (pid > 0) livePids.add(pid);
      });
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk;
        if (log.includes(READY_LOG_LINE)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void closed.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready && pid !== undefined && pid > 0) return { child, pid, closed };
    child.stdin?.destroy();
    await closed;
    if (pid !== undefined) livePids.delete(pid);
    if (log.includes("address already in use")) return "address-in-use";
    throw new Error(`nats-server did not start on port ${port}:\n${log.split("\n").slice(-10).join("\n")}`);
  };

  const stop = async () => {
    if (running === undefined) return;
    const { child, pid, closed } = running;
    running = undefined;
    child.stdin?.destroy();
    await closed;
    livePids.delete(pid);
  };

  return {
    url: `nats://${LOOPBACK_HOST}:${port}`,
    port,
    async start(options = {}) {
      if (running !== undefined) throw new Error("the server is already running");
      generation += 1;
      if (options.freshStore === true) storeDir = join(tempDir, `store-${generation}`);
      for (let attempt = 1; ; attempt++) {
        const result = await startOnce();
        if (result !== "address-in-use") {
          running = result;
          return;
        }
        // The old server's socket may linger for a moment; the port is ours, so wait and retry.
        if (attempt >= START_ATTEMPTS) throw new Error(`port ${port} stayed in use`);
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    },
    stop,
    async dispose() {
      await stop();
      await rm(tempDir, { recursive: true, force: true });
      liveDirs.delete(tempDir);
    },
  };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}
