/**
 * What `up` checks before it starts anything, so a bad flag or a taken port is one line and an exit code,
 * never a half-started cluster: the router's flags as the router will parse them (policy, autoscale bounds,
 * OTLP URL: the same schema, so the CLI cannot drift from the router), distinct ports, and each fixed port
 * free on the router's host. The preset and worker count are checked by the flag parser before this.
 */
import { createServer } from "node:net";
import { UsageError } from "../usage-error.js";
import type { UpSettings } from "./up.js";

/** Where the router listens in `up` (the router's own default host). */
const ROUTER_HOST = "127.0.0.1";

export async function checkUpSettings(settings: UpSettings, usage: string): Promise<void> {
  if (settings.grpcPort !== 0 && settings.grpcPort === settings.httpPort) throw new UsageError(`--grpc-port and --http-port are both ${settings.grpcPort}: give two ports (or 0)`, usage);
  // Loaded here: the router's package is only needed by `up`.
  const { RouterConfigError, loadRouterConfig } = await import("@sigmaserve/router-runtime");
  const routerFlags = [
    ...["--workers", "127.0.0.1:1", "--grpc-port", String(settings.grpcPort), "--http-port", String(settings.httpPort)],
    ...(settings.policy === undefined ? [] : ["--policy", settings.policy]),
    ...(settings.otlpEndpoint === undefined ? [] : ["--otlp-endpoint", settings.otlpEndpoint]),
    ...(settings.autoscale === undefined ? [] : ["--autoscale", settings.autoscale, "--autoscale-provider", "local-process", "--autoscale-worker-command", '["worker"]']),
  ];
  try {
    loadRouterConfig(routerFlags, {});
  } catch (err) {
    if (err instanceof RouterConfigError) throw new UsageError(err.message, usage);
    throw err;
  }
  for (const [flag, port] of [["--grpc-port", settings.grpcPort], ["--http-port", settings.httpPort]] as const) {
    if (port !== 0) await assertPortFree(flag, port);
  }
}

/** Throws (a runtime failure, exit 1) when `port` cannot be bound on the router's host. */
export async function assertPortFree(flag: string, port: number, host = ROUTER_HOST): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is in use" : err.code === "EACCES" ? "needs privileges" : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`${flag} ${port}: ${host}:${port} ${why}; give another port, or 0 to let the OS pick`));
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}
