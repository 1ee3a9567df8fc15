import * as assert from "node:assert/strict";
import { test } from "node:test";
import { coordBusScenarios } from "../testing/coord-bus-scenarios.js";
import { createMemoryCoordBus } from "./memory-coord-bus.js";
import { MemoryCoordHub, subjectMatches } from "./memory-coord-hub.js";

/** Short, so the expiry scenarios take about a second. */
const REGISTRY_TTL_MS = 600;

let hub: MemoryCoordHub | undefined;
coordBusScenarios("memory", {
  setUp: async () => {
    hub = new MemoryCoordHub({ registryTtlMs: REGISTRY_TTL_MS });
    const shared = hub;
    return {
      registryTtlMs: REGISTRY_TTL_MS,
      connect: async (options) => createMemoryCoordBus({ ...options, hub: shared }),
      publishRaw: async (subject, bytes) => shared.publish(subject, bytes),
    };
  },
  tearDown: async () => hub?.close(),
});

test("memory-coord-hub - subjects match the way NATS matches them", () => {
  const match = (pattern: string, subject: string) => subjectMatches(pattern.split("."), subject.split("."));
  assert.equal(match("sigmaserve.kv.*", "sigmaserve.kv.w1"), true);
  assert.equal(match("sigmaserve.kv.*", "sigmaserve.kv"), false);
  assert.equal(match("sigmaserve.kv.*", "sigmaserve.kv.w1.x"), false);
  assert.equal(match("sigmaserve.>", "sigmaserve.ctl.w1.migrate.offer"), true);
  assert.equal(match("sigmaserve.>", "sigmaserve"), false);
  assert.equal(match("sigmaserve.kv.w1", "sigmaserve.kv.w2"), false);
});

test("memory-coord-bus - a bus with a private hub works alone and closes its hub", async () => {
  const bus = createMemoryCoordBus({ registryTtlMs: 1_000 });
  const seen: string[] = [];
  await bus.watchWorkers((event) => seen.push(`${event.kind}:${event.workerId}`));
  const { workerInfo } = await import("../testing/coord-fixtures.js");
  await bus.register(workerInfo("solo"));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ["joined:solo"]);
  await bus.close();
});
