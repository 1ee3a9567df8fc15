/**
 * The worker's TLS, opened from --tls-cert, --tls-key and --tls-ca at
 * start-up: one set of files for both directions. The gRPC server presents
 * the certificate and requires a client certificate signed by the CA (the
 * router's, or a peer's pulling KV); the worker's own pulls from peers
 * present the same certificate and check the peer's against the CA. Files
 * are read and checked now, so unusable ones stop the worker before it
 * listens (WorkerConfigError naming the flag), then re-read every
 * --tls-refresh-s: a rotation reaches new connections without a restart.
 */
import type { ServerCredentials } from "@grpc/grpc-js";
import { PemFileCertificateProvider, TlsConfigError, pemChannelSecurity, pemServerCredentials, type ChannelSecurity } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { WorkerConfigError } from "../errors.js";
import type { WorkerConfig } from "./worker-config.js";

export interface WorkerTls {
  /** For the worker's gRPC server: TLS that requires client certificates. */
  readonly server: ServerCredentials;
  /** For dialling peers (migration pulls). */
  readonly peers: ChannelSecurity;
  /** Stops re-reading the files. */
  close(): void;
}

/** The worker's TLS, or undefined when it is off (no --tls-cert: the config allows all three or none). */
export function openWorkerTls(config: Pick<WorkerConfig, "tlsCert" | "tlsKey" | "tlsCa" | "peerTlsServerName" | "tlsRefreshS">, logger: Logger): WorkerTls | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined || config.tlsCa === undefined) return undefined;
  let provider: PemFileCertificateProvider;
  try {
    provider = new PemFileCertificateProvider({
      cert: { path: config.tlsCert, flag: "--tls-cert" },
      key: { path: config.tlsKey, flag: "--tls-key" },
      ca: { path: config.tlsCa, flag: "--tls-ca" },
      refreshIntervalMs: config.tlsRefreshS * 1000,
      onReloadError: (err) => logger.warn({ err: err.message }, "TLS files changed but cannot be used; the previous certificate stays in use"),
    });
  } catch (err) {
    if (err instanceof TlsConfigError) throw new WorkerConfigError(err.message, { cause: err });
    throw err;
  }
  // One line per rotation taken: what an operator checks after replacing the files.
  provider.onChange(() => logger.info({ files: [config.tlsCert, config.tlsKey, config.tlsCa] }, "TLS files re-read: new connections use the new certificate"));
  return {
    server: pemServerCredentials(provider),
    peers: pemChannelSecurity(provider, { serverName: config.peerTlsServerName }),
    close: () => provider.close(),
  };
}
