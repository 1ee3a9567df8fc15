/**
 * One attempt at running nats-server: spawn it under the watchdog wrapper,
 * wait until it is ready, and hand back a process that can be stopped.
 *
 * Lifecycle: spawning → ready (or a NatsServerStartError, after which nothing is
 * left running and the temp dir is gone) → stopped. After "ready" the child and
 * its pipes are unref'd: a server alone does not keep the event loop (and so a
 * test run) alive. If the loop ends anyway, the exit hook and the watchdog clean up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { Socket, connect } from "node:net";
import { NatsServerStartError } from "./errors.js";
import { trackLiveServer, untrackLiveServer, type LiveServer } from "./live-servers.js";
import { LogTail } from "./log-tail.js";
import { WATCHDOG_POLL_MS, WATCHDOG_SCRIPT } from "./watchdog-script.js";

/** nats-server logs this once its client and monitoring listeners are bound. */
const READY_LOG_LINE = "Server is ready";
/** Part of the fatal log line when a listen port is taken (client or monitoring). */
const ADDRESS_IN_USE_LOG_TEXT = "address already in use";
/** Extra time past the watchdog's own SIGKILL before Node sends SIGKILL itself. */
const STOP_BACKSTOP_MS = 1_000;
/** `$0` of the wrapper script: sh names it in its own error messages. */
const WATCHDOG_ARGV0 = "sigmaserve-nats-watchdog";

export interface SpawnNatsServerOptions {
  /** Absolute path to nats-server. */
  binary: string;
  /** The config file to pass with `-c`. */
  configFile: string;
  /** Removed when the server stops or fails to start. */
  tempDir: string;
  /** The client host and port from the config, probed once the server reports ready. */
  host: string;
  port: number;
  startTimeoutMs: number;
  /** Time between SIGTERM and SIGKILL when stopping. */
  stopGraceMs: number;
  /** Added to this process's environment for the server. */
  env?: Readonly<Record<string, string>>;
}

export interface NatsServerProcess {
  /** nats-server's own pid (not the wrapper's). */
  readonly pid: number;
  /** The last lines the server logged. */
  logTail(): string[];
  /** Stops the server, waits for it to exit, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export async function spawnNatsServer(options: SpawnNatsServerOptions): Promise<NatsServerProcess> {
  const { binary, configFile, tempDir, host, port, startTimeoutMs, stopGraceMs } = options;
  const gracePolls = Math.max(1, Math.ceil(stopGraceMs / WATCHDOG_POLL_MS));
  const child = spawn(
    "/bin/sh",
    ["-c", WATCHDOG_SCRIPT, WATCHDOG_ARGV0, tempDir, String(gracePolls), binary, "-c", configFile],
    { stdio: ["pipe", "pipe", "pipe"], ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }) },
  );
  const log = new LogTail();
  let live: LiveServer | undefined;
  let exitDescription: string | undefined;

  // "closed": the wrapper exited (so the server has too) and all its output has been read.
  const closed = new Promise<void>((resolve) => {
    child.once("close", (code, signal) => {
      exitDescription = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once("error", (err) => {
      exitDescription = `spawn failed: ${err.message}`;
      resolve();
    });
  });

  let startTimer: NodeJS.Timeout | undefined;
  const ready = new Promise<number>((resolve, reject) => {
    let serverPid: number | undefined;
    let sawReadyLine = false;
    let stdoutText = "";
    const settleIfReady = () => {
      if (serverPid !== undefined && sawReadyLine) resolve(serverPid);
    };
    // The wrapper's stdout carries one line: the server's pid.
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      if (serverPid !== undefined) return;
      stdoutText += chunk;
      const newline = stdoutText.indexOf("\n");
      if (newline < 0) return;
      const pid = Number(stdoutText.slice(0, newline));
      if (!Number.isSafeInteger(pid) || pid <= 0) {
        reject(new Error(`the watchdog wrapper printed ${JSON.stringify(stdoutText)} instead of a pid`));
        return;
      }
      serverPid = pid;
      live = { serverPid, tempDir };
      trackLiveServer(live);
      settleIfReady();
    });
    // Keep reading stderr for the server's whole life: a full pipe would block its logging.
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      log.push(chunk, (line) => {
        if (!sawReadyLine && line.includes(READY_LOG_LINE)) {
          sawReadyLine = true;
          settleIfReady();
        }
      });
    });
    void closed.then(() => reject(new Error(`nats-server exited before it was ready (${exitDescription})`)));
    startTimer = setTimeout(
      () => reject(new Error(`nats-server was not ready after ${startTimeoutMs} ms`)),
      startTimeoutMs,
    );
  });
  // Nothing is ever written to stdin; ignore EPIPE-style errors if the wrapper is already gone.
  child.stdin?.on("error", () => {});

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= terminate(child, closed, () => live?.serverPid, stopGraceMs).then(async () => {
      if (live) untrackLiveServer(live);
      await rm(tempDir, { recursive: true, force: true });
    });
    return stopping;
  };

  let pid: number;
  try {
    pid = await ready;
    await probeTcp(host, port);
  } catch (cause) {
    clearTimeout(startTimer);
    await stop();
    const reason = cause instanceof Error ? cause.message : String(cause);
    const logTail = log.lines();
    throw new NatsServerStartError(`${reason} (${binary} -c ${configFile})`, {
      logTail,
      addressInUse: logTail.some((line) => line.includes(ADDRESS_IN_USE_LOG_TEXT)),
      cause,
    });
  }

  clearTimeout(startTimer);
  setRef(child, false);
  return { pid, logTail: () => log.lines(), stop };
}

/**
 * Closes the wrapper's stdin (the watchdog then sends SIGTERM, and SIGKILL
 * after the grace period) and waits for it to exit. If the wrapper itself
 * hangs, Node sends SIGKILL to both processes.
 */
async function terminate(
  child: ChildProcess,
  closed: Promise<void>,
  serverPid: () => number | undefined,
  stopGraceMs: number,
): Promise<void> {
  setRef(child, true);
  child.stdin?.destroy();
  const backstop = setTimeout(() => {
    const pid = serverPid();
    if (pid !== undefined) killQuietly(pid);
    if (child.pid !== undefined) killQuietly(child.pid);
  }, stopGraceMs + STOP_BACKSTOP_MS);
  await closed;
  clearTimeout(backstop);
}

/** Resolves once a TCP connection to host:port succeeds; rejects on a connection error. */
function probeTcp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      socket.destroy();
      reject(new Error(`nats-server reported ready, but ${host}:${port} refused a connection`, { cause: err }));
    });
  });
}

/** ref()s or unref()s the child and its pipes (which are net.Sockets). */
function setRef(child: ChildProcess, ref: boolean): void {
  if (ref) child.ref();
  else child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    if (stream instanceof Socket) {
      if (ref) stream.ref();
      else stream.unref();
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}
