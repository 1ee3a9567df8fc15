/**
 * The router's TLS material, opened from its flags at start-up: the public
 * door's certificate (gRPC and HTTPS, with an optional client CA for mutual
 * TLS) and the router's identity and CA towards the workers (always mutual
 * TLS: a worker with TLS requires client certificates). Files are read and
 * checked now, so a missing file, a PEM that is not one, or a key that is not
 * the certificate's stops the router before it listens (RouterConfigError
 * naming the flag); afterwards they are re-read every --tls-refresh-s and a
 * rotation reaches new connections without a restart.
 */
import { PemFileCertificateProvider, TlsConfigError, pemChannelSecurity, type ChannelSecurity, type PemFile } from "@sigmaserve/proto";
import type { Logger } from "pino";
import { RouterConfigError } from "../errors.js";
import type { RouterConfig } from "./router-config.js";

export interface RouterTls {
  /** The public door's certificate (and client CA), for gRPC and HTTPS; undefined: plaintext. */
  readonly door: PemFileCertificateProvider | undefined;
  /** How the router dials workers; undefined: plaintext. */
  readonly workers: ChannelSecurity | undefined;
  /** Stops re-reading the files. */
  close(): void;
}

type TlsKeys = "tlsCert" | "tlsKey" | "tlsClientCa" | "workerTlsCa" | "workerTlsCert" | "workerTlsKey" | "workerTlsServerName" | "tlsRefreshS";

const file = (path: string | undefined, flag: string): PemFile | undefined => (path === undefined ? undefined : { path, flag });

export function openRouterTls(config: Pick<RouterConfig, TlsKeys>, logger: Logger): RouterTls {
  const refreshIntervalMs = config.tlsRefreshS * 1000;
  const onReloadError = (err: TlsConfigError) => logger.warn({ err: err.message }, "TLS files changed but cannot be used; the previous certificate stays in use");
  const opened: PemFileCertificateProvider[] = [];
  try {
    const door =
      config.tlsCert === undefined
        ? undefined
        : new PemFileCertificateProvider({ cert: file(config.tlsCert, "--tls-cert"), key: file(config.tlsKey, "--tls-key"), ca: file(config.tlsClientCa, "--tls-client-ca"), refreshIntervalMs, onReloadError });
    if (door !== undefined) opened.push(door);
    let workers: ChannelSecurity | undefined;
    if (config.workerTlsCa !== undefined) {
      const provider = new PemFileCertificateProvider({ ca: file(config.workerTlsCa, "--worker-tls-ca"), cert: file(config.workerTlsCert, "--worker-tls-cert"), key: file(config.workerTlsKey, "--worker-tls-key"), refreshIntervalMs, onReloadError });
      opened.push(provider);
      workers = pemChannelSecurity(provider, { serverName: config.workerTlsServerName });
    }
    // One line per rotation taken: what an operator checks after replacing the files.
    for (const provider of opened) provider.onChange(() => logger.info({ files: Object.values(provider.files).flatMap((f: { path: string } | undefined) => (f === undefined ? [] : [f.path])) }, "TLS files re-read: new connections use the new certificate"));
    return { door, workers, close: () => opened.forEach((provider) => provider.close()) };
  } catch (err) {
    opened.forEach((provider) => provider.close());
    if (err instanceof TlsConfigError) throw new RouterConfigError(err.message, { cause: err });
    throw err;
  }
}
