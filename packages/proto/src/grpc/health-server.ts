/**
 * The health-only port: a second grpc-js server, plaintext, that serves
 * grpc.health.v1.Health and nothing else. Kubernetes' gRPC probes speak neither
 * TLS nor mutual TLS, and an httpGet probe cannot present a client certificate,
 * so a process whose main port requires them (--tls-cert, --tls-ca) is probed
 * here instead. It registers the process's own HealthService (`serveOn`), so
 * its statuses are the main port's, Watch included; every other method is
 * UNIMPLEMENTED, as on any server that lacks the service.
 *
 * NOTE: nothing on this port is secret or changes state (a status per service
 * name), which is why it may be plaintext beside an mTLS server.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { HealthService } from "./health.js";

export interface HealthServer {
  /** host:port it listens on (the port the OS picked for port 0). */
  readonly address: string;
  /** Stops it at once: open Watch streams end (a probe's Check is a single call, cheap to repeat). */
  close(): void;
}

/** Starts a plaintext server on host:port that serves only `health`. */
export async function startHealthServer(health: HealthService, options: { host: string; port: number }): Promise<HealthServer> {
  const server = new Server();
  health.serveOn(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `${options.host}:${port}`,
    close: () => server.forceShutdown(),
  };
}
