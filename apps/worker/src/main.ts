#!/usr/bin/env node
/**
 * The worker process. Reads its config (flags, then SIGMASERVE_WORKER_*),
 * starts, prints one log line with its address, and on SIGTERM or SIGINT
 * drains before it exits 0: it finishes its running requests, or with
 * --drain-migrate hands them and its hot prefixes over to its peers.
 * Logs are JSON lines, or human-readable (pino-pretty) when stdout is a terminal; `--log-level` (or
 * SIGMASERVE_LOG_LEVEL) sets the level and is the process's own flag, taken off before the config parses.
 * A bad command line exits 2, a failure to start exits 1, each with one line on stderr.
 */
import { createRequire } from "node:module";
import { LOG_LEVELS, LOG_LEVEL_ENV, isLogLevel, processLogger, startTracing, takeLogLevel, traceLogFields } from "@sigmaserve/telemetry";
import { WORKER_USAGE, WorkerConfigError, loadWorkerConfig, startWorker, type WorkerConfig, type WorkerRuntime } from "@sigmaserve/worker-runtime";

/** How long SIGTERM waits for running requests before cancelling them, ms. */
export const SHUTDOWN_GRACE_MS = 30_000;

const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
const USAGE = `${WORKER_USAGE}

process options:
  --log-level LEVEL  ${LOG_LEVELS.join(" | ")} (default: $SIGMASERVE_LOG_LEVEL, else info)
  -h, --help         show this help and exit
  --version          print the version and exit
Logs are human-readable on a terminal, JSON lines otherwise.`;

function usageError(message: string): never {
  process.stderr.write(`sigmaserve worker: ${message} (see "sigmaserve worker --help")\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.includes("--version")) {
  process.stdout.write(`sigmaserve worker ${VERSION}\n`);
  process.exit(0);
}
const taken = takeLogLevel(args);
const level = taken.level ?? (process.env[LOG_LEVEL_ENV] || "info");
if (!isLogLevel(level)) usageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
// JSON lines on stdout (what `up` and the tests read), pretty on a terminal.
const logger = processLogger("sigmaserve-worker", level, { fd: 1, mixin: () => traceLogFields() });

let config: WorkerConfig;
try {
  config = loadWorkerConfig(taken.argv, process.env);
} catch (err) {
  if (!(err instanceof WorkerConfigError)) throw err;
  usageError(err.message);
}
// Before the worker starts, so its first spans have a provider (off unless an OTLP endpoint is configured).
const tracing = await startTracing({ serviceName: "sigmaserve-worker", endpoint: config.otlpEndpoint });
if (tracing.enabled) logger.info({ traces: tracing.tracesUrl }, "tracing on");
let runtime: WorkerRuntime;
try {
  runtime = await startWorker(config, logger);
} catch (err) {
  // A failure to start (an unknown preset, a model directory that does not load, a port in use): one line.
  await tracing.shutdown().catch(() => {});
  // A setting found unusable at start-up (a TLS file that cannot be read, --remote-tier without --nats) is a bad command line: exit 2, as the router does.
  if (err instanceof WorkerConfigError) usageError(err.message);
  process.stderr.write(`sigmaserve worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, migrate: config.drainMigrate }, "draining before exit");
    runtime.stop({ graceMs: SHUTDOWN_GRACE_MS, migrate: config.drainMigrate }).then(
      async () => {
        logger.info("drained; exiting");
        await tracing.shutdown().catch(() => {});
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
