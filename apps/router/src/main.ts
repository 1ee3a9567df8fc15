#!/usr/bin/env node
/**
 * The router process: reads its config, starts, logs its addresses; SIGTERM/SIGINT stop it, SIGHUP reloads its API keys.
 * Logs are JSON lines, or human-readable (pino-pretty) when stdout is a terminal; `--log-level` (or
 * SIGMASERVE_LOG_LEVEL) sets the level and is the process's own flag, taken off before the config parses.
 * A bad command line exits 2, a failure to start exits 1, each with one line on stderr.
 */
import { createRequire } from "node:module";
import { ROUTER_USAGE, RouterConfigError, loadRouterConfig, startRouter, type RouterRuntime } from "@sigmaserve/router-runtime";
import { LOG_LEVELS, LOG_LEVEL_ENV, isLogLevel, processLogger, startTracing, takeLogLevel, traceLogFields, type Tracing } from "@sigmaserve/telemetry";

const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
const USAGE = `${ROUTER_USAGE}

process options:
  --log-level LEVEL  ${LOG_LEVELS.join(" | ")} (default: $SIGMASERVE_LOG_LEVEL, else info); info logs one line per request
  -h, --help         show this help and exit
  --version          print the version and exit
Logs are human-readable on a terminal, JSON lines otherwise.`;

function usageError(message: string): never {
  process.stderr.write(`sigmaserve router: ${message} (see "sigmaserve router --help")\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.includes("--version")) {
  process.stdout.write(`sigmaserve router ${VERSION}\n`);
  process.exit(0);
}
const taken = takeLogLevel(args);
const level = taken.level ?? (process.env[LOG_LEVEL_ENV] || "info");
if (!isLogLevel(level)) usageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
// JSON lines on stdout (what `up` and the tests read), pretty on a terminal.
const logger = processLogger("sigmaserve-router", level, { fd: 1, mixin: () => traceLogFields() });

let runtime: RouterRuntime;
let tracing: Tracing | undefined;
try {
  const config = loadRouterConfig(taken.argv, process.env);
  // Before the router starts, so its first spans have a provider (off unless an OTLP endpoint is configured).
  tracing = await startTracing({ serviceName: "sigmaserve-router", endpoint: config.otlpEndpoint });
  if (tracing.enabled) logger.info({ traces: tracing.tracesUrl }, "tracing on");
  // startRouter refuses a config with no way to find workers before it starts anything.
  runtime = await startRouter(config, logger);
} catch (err) {
  if (err instanceof RouterConfigError) usageError(err.message);
  // A failure to start (a port in use, NATS unreachable): one line, not a stack trace.
  await tracing?.shutdown().catch(() => {});
  process.stderr.write(`sigmaserve router: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
// SIGHUP reads --api-keys-file again (it is also polled); a bad file keeps the old keys and logs an error.
process.on("SIGHUP", () => void runtime.reloadApiKeys());
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    runtime.stop().then(
      async () => {
        await tracing?.shutdown().catch(() => {});
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
}
