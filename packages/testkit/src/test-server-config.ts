/**
 * Renders the config file of one test nats-server. It mirrors the deployment
 * config (infra/nats/nats.conf) only where tests can observe a difference, which
 * today is max_payload. Everything binds to loopback on ports picked per server.
 */

export interface TestServerConfig {
  /** Interface for both listeners; always loopback in practice. */
  host: string;
  /** Client port. */
  port: number;
  /** HTTP monitoring port (/varz, /jsz, ...). */
  monitorPort: number;
  /** JetStream store_dir. nats-server adds a `jetstream/` folder inside it. */
  storeDir: string;
  /** Largest publish the server accepts, in bytes. */
  maxPayloadBytes: number;
  /** Client authentication; default none. */
  authorization?: NatsTestAuthorization;
  /** Default true. false: a server without JetStream (what a worker must refuse clearly). */
  jetstream?: boolean;
  /** Raw lines added to the config (an `authorization { users = [...] }` block, `tls { ... }`, an `include`). */
  extraLines?: readonly string[];
}

/** A token, or a user and password, that clients must present. */
export type NatsTestAuthorization = { token: string } | { user: string; password: string };

export function renderTestServerConfig(config: TestServerConfig): string {
  // JSON string escaping matches what the NATS config lexer accepts in
  // double-quoted strings, so odd temp paths (spaces, quotes) survive.
  return [
    "# Written by @sigmaserve/testkit for one test server; removed by stop().",
    `listen: ${config.host}:${config.port}`,
    // NOTE: nats-server 2.9 has no --http_host flag; only the config can bind monitoring to loopback.
    `http: ${config.host}:${config.monitorPort}`,
    `max_payload: ${config.maxPayloadBytes}`,
    ...(config.authorization === undefined
      ? []
      : "token" in config.authorization
        ? [`authorization { token: ${JSON.stringify(config.authorization.token)} }`]
        : [`authorization { user: ${JSON.stringify(config.authorization.user)}, password: ${JSON.stringify(config.authorization.password)} }`]),
    ...(config.extraLines ?? []),
    ...(config.jetstream === false ? [] : ["jetstream {", `  store_dir: ${JSON.stringify(config.storeDir)}`, "}"]),
    "",
  ].join("\n");
}
