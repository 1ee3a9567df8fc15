import { startNatsServer, type NatsServerHandle } from "@sigmaserve/testkit";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { coordBusScenarios } from "../testing/coord-bus-scenarios.js";
import { connectNatsCoordBus } from "./connect-nats-coord-bus.js";

/** Short, so the expiry scenarios take about a second. */
const REGISTRY_TTL_MS = 600;

let server: NatsServerHandle | undefined;
/** A plain NATS connection for the scenarios that publish raw bytes (what a newer or broken peer sends). */
let raw: NatsConnection | undefined;
coordBusScenarios("nats", {
  setUp: async () => {
    const started = await startNatsServer();
    server = started;
    const rawConnection = await connect({ servers: started.url, name: "coord-scenarios-raw" });
    raw = rawConnection;
    return {
      registryTtlMs: REGISTRY_TTL_MS,
      connect: (options) =>
        connectNatsCoordBus({ servers: started.url, name: "coord-scenarios", registryTtlMs: REGISTRY_TTL_MS, reconnectWaitMs: 100, ...options }),
      publishRaw: async (subject, bytes) => {
        rawConnection.publish(subject, bytes);
        await rawConnection.flush();
      },
    };
  },
  tearDown: async () => {
    await raw?.close();
    await server?.stop();
  },
});
