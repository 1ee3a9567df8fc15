#!/usr/bin/env node
/** The router process: reads its config, starts, logs its addresses; SIGTERM/SIGINT stop it. */
import { pino } from "pino";
import { ROUTER_USAGE, RouterConfigError, loadRouterConfig, startRouter } from "@sigmaserve/router-runtime";
import { startTracing, traceLogFields, type Tracing } from "@sigmaserve/telemetry";

const logger = pino({ name: "sigmaserve-router", mixin: () => traceLogFields() });
if (process.argv.includes("--help")) {
  process.stdout.write(`${ROUTER_USAGE}\n`);
  process.exit(0);
}
let runtime;
let tracing: Tracing | undefined;
try {
  const config = loadRouterConfig(process.argv.slice(2), process.env);
  // Before the router starts, so its first spans have a provider (off unless an OTLP endpoint is configured).
  tracing = await startTracing({ serviceName: "sigmaserve-router", endpoint: config.otlpEndpoint });
  if (tracing.enabled) logger.info({ traces: tracing.tracesUrl }, "tracing on");
  // startRouter refuses a config with no way to find workers before it starts anything.
  runtime = await startRouter(config, logger);
} catch (err) {
  if (!(err instanceof RouterConfigError)) throw err;
  process.stderr.write(`sigmaserve router: ${err.message}\n\n${ROUTER_USAGE}\n`);
  process.exit(2);
}
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
