#!/usr/bin/env node
/**
 * The worker process. Reads its config (flags, then SIGMASERVE_WORKER_*),
 * starts, prints one JSON log line with its address, and on SIGTERM or SIGINT
 * drains before it exits 0: it finishes its running requests, or with
 * --drain-migrate hands them and its hot prefixes over to its peers.
 */
import { pino } from "pino";
import { startTracing, traceLogFields } from "@sigmaserve/telemetry";
import { WORKER_USAGE, WorkerConfigError, loadWorkerConfig, startWorker } from "@sigmaserve/worker-runtime";

/** How long SIGTERM waits for running requests before cancelling them, ms. */
export const SHUTDOWN_GRACE_MS = 30_000;

const logger = pino({ name: "sigmaserve-worker", mixin: () => traceLogFields() });
if (process.argv.includes("--help")) {
  process.stdout.write(`${WORKER_USAGE}\n`);
  process.exit(0);
}
let config;
try {
  config = loadWorkerConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof WorkerConfigError)) throw err;
  process.stderr.write(`sigmaserve worker: ${err.message}\n\n${WORKER_USAGE}\n`);
  process.exit(2);
}
// Before the worker starts, so its first spans have a provider (off unless an OTLP endpoint is configured).
const tracing = await startTracing({ serviceName: "sigmaserve-worker", endpoint: config.otlpEndpoint });
if (tracing.enabled) logger.info({ traces: tracing.tracesUrl }, "tracing on");
const runtime = await startWorker(config, logger);
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
