/**
 * NATS only: the bus across a nats-server restart on the same port.
 *
 * While the server is down the registry is unreachable: heartbeats, publishes
 * and requests fail fast with CoordUnavailableError, and the router's view is
 * frozen (no local expiry: silence says nothing during an outage). When a
 * server is back, both clients reconnect on their own; the router re-lists the
 * registry (a worker missing from it gets one TTL to heartbeat before it is
 * "lost") and the worker's next heartbeat re-creates what the server lost.
 */
import * as assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { create, equals } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import type { CoordBus, KvEventDelivery, WorkerEvent } from "../coord-bus.js";
import { CoordUnavailableError } from "../errors.js";
import { startHeartbeats, type HeartbeatLoop } from "../heartbeat-loop.js";
import { kvEventBatch, kvEventBatchFirstSeq, uniqueWorkerId, workerInfo, workerLoad } from "../testing/coord-fixtures.js";
import { Recorder, sleep } from "../testing/recorder.js";
import { createRestartableNatsServer, type RestartableNatsServer } from "@sigmaserve/testkit";
import { connectNatsCoordBus } from "./connect-nats-coord-bus.js";

const REGISTRY_TTL_MS = 600;
const HEARTBEAT_INTERVAL_MS = 100;
const WAIT_MS = 5_000;
/** Well past the router's 100 ms, so the worker reconnects about a second after the router does. */
const WORKER_RECONNECT_WAIT_MS = 3_000;
const TEST_TIMEOUT_MS = 15_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<RestartableNatsServer> {
  const server = await createRestartableNatsServer();
  cleanups.push(() => server.dispose());
  await server.start();
  return server;
}

async function connectTo(server: RestartableNatsServer, name: string, reconnectWaitMs = 100): Promise<CoordBus> {
  const bus = await connectNatsCoordBus({ servers: server.url, name, registryTtlMs: REGISTRY_TTL_MS, reconnectWaitMs });
  cleanups.push(() => bus.close());
  return bus;
}

function heartbeat(registration: Awaited<ReturnType<CoordBus["register"]>>, failures: unknown[]): HeartbeatLoop {
  let beats = 0;
  const loop = startHeartbeats(registration, () => workerLoad(registration.workerId, ++beats), {
    intervalMs: HEARTBEAT_INTERVAL_MS,
    onError: (err) => failures.push(err),
  });
  cleanups.push(() => loop.stop());
  return loop;
}

/** Publishes batch after batch until the subscriber gets one (the worker and the router reconnect independently). */
const isBatch = (firstSeq: number) => (delivery: KvEventDelivery) => delivery.kind === "batch" && delivery.batch.firstSeq === firstSeq;

async function publishUntilDelivered(worker: CoordBus, batches: Recorder<KvEventDelivery>, workerId: string, firstIndex: number): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  for (let index = firstIndex; Date.now() < deadline; index++) {
    const since = batches.items.length;
    try {
      await worker.publishKvEvents(kvEventBatch(workerId, index));
      await batches.waitFor(isBatch(kvEventBatchFirstSeq(index)), 200, `batch ${index}`, since);
      return index;
    } catch {
      await sleep(50);
    }
  }
  throw new Error("no KV-event batch got through after the restart");
}

test("coord-bus (nats) - restart with an empty store: the worker re-registers, the router sees it again, events and control flow again", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startServer();
  // NOTE: the worker retries less often, so the router is back first and the order of events below is fixed.
  const [router, worker] = [await connectTo(server, "router"), await connectTo(server, "worker", WORKER_RECONNECT_WAIT_MS)];
  const id = uniqueWorkerId("restart");
  const info = workerInfo(id);
  const events = new Recorder<WorkerEvent>();
  const watch = await router.watchWorkers(events.push);
  const batches = new Recorder<KvEventDelivery>();
  await router.subscribeKvEvents(batches.push, { workerId: id });
  const drainStatus = create(coordv1.DrainStatusSchema, { workerId: id, state: coordv1.WorkerState.DRAINING });
  await worker.serveControl(id, { drain: async () => drainStatus });
  const heartbeatFailures: unknown[] = [];
  const registration = await worker.register(info);
  heartbeat(registration, heartbeatFailures);
  await events.waitFor((e) => e.workerId === id && e.kind === "joined", WAIT_MS, "joined");

  await server.stop();
  // Down for longer than the TTL: a router timing expiry through the outage would drop the worker.
  await sleep(REGISTRY_TTL_MS + 300);
  await assert.rejects(registration.heartbeat(workerLoad(id, 0)), CoordUnavailableError);
  assert.ok(heartbeatFailures.every((err) => err instanceof CoordUnavailableError), "the loop's heartbeats fail as unavailable");
  await assert.rejects(worker.publishKvEvents(kvEventBatch(id, 1)), CoordUnavailableError);
  await assert.rejects(router.requestDrain(id, create(coordv1.DrainCommandSchema, {})), CoordUnavailableError);
  assert.deepEqual(events.filter((e) => e.workerId === id).map((e) => e.kind), ["joined"], "the view is frozen during the outage");
  assert.ok(watch.workers().has(id));

  const beforeRestart = events.items.length;
  await server.start({ freshStore: true });

  // The router, back first, re-lists an empty registry. The worker, still away, misses the one-TTL grace and is
  // lost; its first heartbeat after its reconnect re-creates the bucket and its entry, and the router sees it
  // join again, with its exact info.
  await events.waitFor((e) => e.workerId === id && e.kind === "joined", WAIT_MS, "joined again", beforeRestart);
  assert.deepEqual(
    events.items.slice(beforeRestart).filter((e) => e.workerId === id).map((e) => (e.kind === "left" ? `left:${e.reason}` : e.kind)),
    ["left:lost", "joined"],
  );
  const seen = watch.workers().get(id);
  assert.ok(seen !== undefined && equals(coordv1.WorkerInfoSchema, seen, info));

  // The bucket and the entry exist again on the new server: a fresh watcher lists the worker.
  const late = new Recorder<WorkerEvent>();
  await (await connectTo(server, "late-router")).watchWorkers(late.push);
  assert.deepEqual(late.filter((e) => e.workerId === id).map((e) => e.kind), ["joined"]);

  // KV events published after the restart are delivered, in order, exactly.
  const first = await publishUntilDelivered(worker, batches, id, 10);
  for (let index = first + 1; index <= first + 5; index++) await worker.publishKvEvents(kvEventBatch(id, index));
  await batches.waitFor(isBatch(kvEventBatchFirstSeq(first + 5)), WAIT_MS, "the last batch");
  const tail = batches.items.slice(-6);
  assert.deepEqual(tail, Array.from({ length: 6 }, (_, i) => ({ kind: "batch", batch: kvEventBatch(id, first + i) })));

  // The worker's control subscription was re-sent on reconnect.
  assert.ok(equals(coordv1.DrainStatusSchema, await router.requestDrain(id, create(coordv1.DrainCommandSchema, {})), drainStatus));
});

test("coord-bus (nats) - restart with the store kept: a worker that died during the outage is reported left, a live one stays", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startServer();
  const [router, survivorBus, doomedBus] = [await connectTo(server, "router"), await connectTo(server, "survivor"), await connectTo(server, "doomed")];
  const [survivor, doomed] = [uniqueWorkerId("survivor"), uniqueWorkerId("doomed")];
  const events = new Recorder<WorkerEvent>();
  const watch = await router.watchWorkers(events.push);
  heartbeat(await survivorBus.register(workerInfo(survivor)), []);
  const doomedLoop = heartbeat(await doomedBus.register(workerInfo(doomed)), []);
  await events.waitFor((e) => e.workerId === survivor && e.kind === "joined", WAIT_MS, "survivor joined");
  await events.waitFor((e) => e.workerId === doomed && e.kind === "joined", WAIT_MS, "doomed joined");

  await server.stop();
  await doomedLoop.stop();
  await sleep(REGISTRY_TTL_MS + 300);
  assert.ok(watch.workers().has(doomed), "nobody can tell during the outage");

  const restartedAt = Date.now();
  await server.start();
  // Gone from the re-listing (the server expired it on recovery) and silent for one more TTL: lost. Or, if the
  // server had not expired it yet when listed, silent for one TTL after the listing: expired.
  const left = await events.waitFor((e) => e.workerId === doomed && e.kind === "left", REGISTRY_TTL_MS + WAIT_MS, "doomed left");
  assert.ok(left.kind === "left" && (left.reason === "lost" || left.reason === "expired"), `reason ${left.kind === "left" ? left.reason : ""}`);
  assert.ok(Date.now() - restartedAt < REGISTRY_TTL_MS + WAIT_MS);
  await sleep(REGISTRY_TTL_MS);
  assert.ok(watch.workers().has(survivor), "the live worker stays");
  assert.equal(watch.workers().has(doomed), false);
  // It was missing from the re-listing too (the outage outlasted the TTL), but heartbeated within the grace.
  assert.deepEqual(events.filter((e) => e.workerId === survivor).map((e) => e.kind), ["joined"], "and is never reported left");
});
