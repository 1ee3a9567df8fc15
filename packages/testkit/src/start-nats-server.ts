/**
 * startNatsServer(): a real, throwaway nats-server with JetStream for one test
 * (or one test file), the way nats.js tests do it: free ports on loopback, a
 * fresh temp store, and a guarantee that no process outlives the caller.
 *
 * Model: each attempt picks two free ports, writes a config into a new temp
 * dir and runs `nats-server -c` under a /bin/sh watchdog (see watchdog-script.ts).
 * The free-port dance is racy, so an attempt that dies with "address already
 * in use" is retried on new ports. max_payload comes from the deployment config,
 * so a test that publishes something too big fails as it would in production.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsConfigError, NatsServerStartError } from "./errors.js";
import { findNatsServer } from "./find-nats-server.js";
import { LOOPBACK_HOST, freePort } from "./free-port.js";
import { DEFAULT_NATS_CONFIG_PATH, readMaxPayload } from "./read-max-payload.js";
import { spawnNatsServer } from "./spawn-nats-server.js";
import { renderTestServerConfig, type NatsTestAuthorization } from "./test-server-config.js";

/** Time allowed for the server to report ready, over all attempts. It usually takes ~50 ms. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Time between SIGTERM and SIGKILL in stop(). JetStream shuts down in milliseconds in tests. */
export const DEFAULT_STOP_GRACE_MS = 2_000;
/** Attempts when a picked port turns out to be taken by the time the server binds it. */
export const MAX_START_ATTEMPTS = 3;
/** Prefix of each server's temp dir under os.tmpdir(). */
export const TEMP_DIR_PREFIX = "sigmaserve-nats-";

export interface StartNatsServerOptions {
  /** Path to nats-server (or a bare name to search for). Default: search PATH, /usr/sbin, /usr/local/sbin. */
  binary?: string;
  /** Default: DEFAULT_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL in stop(). Default: DEFAULT_STOP_GRACE_MS. */
  stopGraceMs?: number;
  /** Largest publish, in bytes. Default: max_payload read from `configPath`. */
  maxPayload?: number;
  /** Config to read max_payload from. Default: the repo's infra/nats/nats.conf. */
  configPath?: string;
  /** Clients must present this token or user and password (the URL stays without them). Default: no auth. */
  authorization?: NatsTestAuthorization;
  /** Default true. false: no JetStream at all (no `jetstream` block). */
  jetstream?: boolean;
  /**
   * Raw config lines added before the jetstream block (auth with permissions, tls, includes). A function gets
   * the config file's directory: nats-server resolves `include` paths against it, absolute ones included.
   * Default: none.
   */
  extraLines?: readonly string[] | ((configDir: string) => readonly string[]);
  /** Extra environment of nats-server, for `$VARIABLE` references in the config (passwords). Default: none. */
  env?: Readonly<Record<string, string>>;
}

export interface NatsServerHandle {
  /** Client URL, `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** Monitoring URL, `http://127.0.0.1:MPORT` (append /varz, /jsz, ...). */
  readonly monitorUrl: string;
  /** JetStream store_dir (inside the temp dir; removed by stop()). */
  readonly storeDir: string;
  /** nats-server's pid: to check that it is gone, or to kill it in a crash test. */
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after the grace), waits for it to exit, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findNatsServer(options.binary === undefined ? {} : { binary: options.binary });
  const maxPayloadBytes = options.maxPayload ?? (await readMaxPayload(options.configPath ?? DEFAULT_NATS_CONFIG_PATH));
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes <= 0) {
    throw new NatsConfigError(`must be a positive integer number of bytes, got ${maxPayloadBytes}`, {
      source: "options.maxPayload",
    });
  }
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  const deadlineMs = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let monitorPort = await freePort();
    while (monitorPort === port) monitorPort = await freePort();

    const tempDir = await mkdtemp(join(tmpdir(), TEMP_DIR_PREFIX));
    const storeDir = join(tempDir, "store");
    const configFile = join(tempDir, "nats.conf");
    try {
      const config = {
        host: LOOPBACK_HOST,
        port,
        monitorPort,
        storeDir,
        maxPayloadBytes,
        ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
        ...(options.jetstream === undefined ? {} : { jetstream: options.jetstream }),
        ...(options.extraLines === undefined ? {} : { extraLines: typeof options.extraLines === "function" ? options.extraLines(tempDir) : options.extraLines }),
      };
      await writeFile(configFile, renderTestServerConfig(config));
    } catch (err) {
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }

    try {
      const server = await spawnNatsServer({
        binary,
        configFile,
        tempDir,
        host: LOOPBACK_HOST,
        port,
        startTimeoutMs: Math.max(1, deadlineMs - Date.now()),
        stopGraceMs,
        ...(options.env === undefined ? {} : { env: options.env }),
      });
      return {
        url: `nats://${LOOPBACK_HOST}:${port}`,
        port,
        monitorUrl: `http://${LOOPBACK_HOST}:${monitorPort}`,
        storeDir,
        pid: server.pid,
        stop: () => server.stop(),
      };
    } catch (err) {
      // spawnNatsServer() has already stopped the server and removed tempDir.
      const retry = err instanceof NatsServerStartError && err.addressInUse;
      if (!retry || attempt >= MAX_START_ATTEMPTS || Date.now() >= deadlineMs) throw err;
    }
  }
}
