#!/usr/bin/env node
/** The router process: reads its config, starts, logs its addresses; SIGTERM/SIGINT stop it. */
import { pino } from "pino";
import { ROUTER_USAGE, RouterConfigError, loadRouterConfig, startRouter } from "@sigmaserve/router-runtime";

const logger = pino({ name: "sigmaserve-router" });
if (process.argv.includes("--help")) {
  process.stdout.write(`${ROUTER_USAGE}\n`);
  process.exit(0);
}
let config;
try {
  config = loadRouterConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof RouterConfigError)) throw err;
  process.stderr.write(`sigmaserve router: ${err.message}\n\n${ROUTER_USAGE}\n`);
  process.exit(2);
}
const runtime = await startRouter(config, logger);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
