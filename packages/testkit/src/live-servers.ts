/**
 * The last line of defence inside Node: servers that are still running when
 * the process exits are killed from a `process.on("exit")` hook.
 *
 * The hook must be synchronous (the event loop is gone by then), so it sends
 * SIGKILL and removes the temp dir with rmSync. It covers process.exit() and a
 * natural end of the event loop; signals and SIGKILL skip it, and the
 * watchdog wrapper covers those.
 */
import { rmSync } from "node:fs";

export interface LiveServer {
  /** nats-server's pid. */
  readonly serverPid: number;
  /** The temp dir holding the config and the JetStream store. */
  readonly tempDir: string;
}

const liveServers = new Set<LiveServer>();
let exitHookInstalled = false;

/** Registers a running server with the exit hook (installed on first use). */
export function trackLiveServer(server: LiveServer): void {
  if (!exitHookInstalled) {
    process.on("exit", killLiveServersSync);
    exitHookInstalled = true;
  }
  liveServers.add(server);
}

/** Removes a server that has been stopped. */
export function untrackLiveServer(server: LiveServer): void {
  liveServers.delete(server);
}

/** How many servers are registered: for tests of the testkit itself. */
export function liveServerCount(): number {
  return liveServers.size;
}

function killLiveServersSync(): void {
  for (const server of liveServers) {
    // Only the server: once it is gone, the wrapper's `wait` returns, and the
    // wrapper reaps it (no zombie left for init) and exits on its own.
    killQuietly(server.serverPid);
    try {
      rmSync(server.tempDir, { recursive: true, force: true });
    } catch {
      // Best effort: the wrapper also removes the dir once the server is gone.
    }
  }
  liveServers.clear();
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // ESRCH: already gone.
  }
}
