#!/usr/bin/env node
/** The router process: reads its config, starts, logs its addresses; SIGTERM/SIGINT stop it. */
import { pino } from "pino";
import { ROUTER_USAGE, RouterConfigError, loadRouterConfig, startRouter } from "@sigmaserve/router-runtime";

const logger = pino({ name: "sigmaserve-router" });
if (process.argv.includes("--help")) {
  process.stdout.write(`${ROUTER_USAGE}\n`);
  process.exit(0);
}
let runtime;
try {
  // startRouter refuses a config with no way to find workers before it starts anything.
  runtime = await startRouter(loadRouterConfig(process.argv.slice(2), process.env), logger);
} catch (err) {
  if (!(err instanceof RouterConfigError)) throw err;
  process.stderr.write(`sigmaserve router: ${err.message}\n\n${ROUTER_USAGE}\n`);
  process.exit(2);
}
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
