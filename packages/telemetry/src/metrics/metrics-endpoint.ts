/**
 * One Prometheus exposition endpoint per process: `GET /metrics` answers the
 * registry in the text format Prometheus scrapes (or OpenMetrics, when the
 * registry is of that type), anything else is 404. For a process with an
 * HTTP server of its own (the router) `handleMetrics` is the route; a worker,
 * which speaks only gRPC otherwise, listens with `startMetricsServer`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Answers GET/HEAD /metrics from `registry`. */
export async function handleMetrics(registry: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("/metrics answers GET and HEAD\n");
    return;
  }
  try {
    const body = await registry.metrics();
    response.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
    response.end(request.method === "HEAD" ? undefined : body);
  } catch (err) {
    // A collect callback that throws must not take the process down with it.
    response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`metrics collection failed: ${(err as Error).message}\n`);
  }
}

export interface MetricsServer {
  /** host:port it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

/** An HTTP server for `/metrics` alone, on `host:port` (port 0: one the OS picks). */
export async function startMetricsServer(registry: Registry, options: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") void handleMetrics(registry, request, response);
    else response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: this port serves /metrics only\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `${address.includes(":") ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
