import { startNatsServer, type NatsServerHandle } from "@sigmaserve/testkit";
import { coordBusScenarios } from "../testing/coord-bus-scenarios.js";
import { connectNatsCoordBus } from "./connect-nats-coord-bus.js";

/** Short, so the expiry scenarios take about a second. */
const REGISTRY_TTL_MS = 600;

let server: NatsServerHandle | undefined;
coordBusScenarios("nats", {
  setUp: async () => {
    const started = await startNatsServer();
    server = started;
    return {
      registryTtlMs: REGISTRY_TTL_MS,
      connect: (options) =>
        connectNatsCoordBus({ servers: started.url, name: "coord-scenarios", registryTtlMs: REGISTRY_TTL_MS, reconnectWaitMs: 100, ...options }),
    };
  },
  tearDown: async () => server?.stop(),
});
