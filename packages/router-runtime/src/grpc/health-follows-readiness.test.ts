/**
 * The router's grpc.health.v1 follows /readyz's rule over real gRPC (the
 * protocol's own client from grpc-health-check): NOT_SERVING with no routable
 * worker, SERVING once one joins the pool, NOT_SERVING again when the last one
 * leaves or drains, with Watch streaming each change; a started router's
 * "liveness" name stays SERVING without workers.
 */
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type Client, type ClientReadableStream } from "@grpc/grpc-js";
import { addHealthService, coordv1, inferencev1 } from "@sigmaserve/proto";
import { service as healthServiceDefinition } from "grpc-health-check";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { poolReadiness } from "../http/probes.js";
import { pino } from "pino";
import { loadRouterConfig } from "../config/router-config.js";
import { startRouter } from "../router-runtime.js";
import { healthFollowsReadiness, LIVENESS_HEALTH_SERVICE, type HealthFollower } from "./health-follows-readiness.js";

type HealthClient = Client & {
  check(request: { service: string }, callback: (err: Error | null, response: { status: string }) => void): void;
  watch(request: { service: string }): ClientReadableStream<{ status: string }>;
};

let server: Server;
let client: HealthClient;
let pool: WorkerPool;
let follower: HealthFollower;
let worker: FakeWorker;

before(async () => {
  worker = await FakeWorker.start();
  pool = new WorkerPool({ maxMessageMib: 16 });
  server = new Server();
  const health = addHealthService(server, [inferencev1.InferenceService]);
  // A long recheck: pool changes must apply at once, without waiting for the timer.
  follower = healthFollowsReadiness(health, pool, { recheckMs: 60_000 });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const Constructor = makeGenericClientConstructor(healthServiceDefinition, "Health");
  client = new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as HealthClient;
});

after(async () => {
  client.close();
  follower.stop();
  server.forceShutdown();
  pool.close();
  await worker.stop();
});

function check(service: string): Promise<string> {
  return new Promise((resolve, reject) => client.check({ service }, (err, response) => (err ? reject(err) : resolve(response.status))));
}

/** Resolves with the next `count` statuses a Watch stream reports (the first is the current one). */
function nextStatuses(stream: ClientReadableStream<{ status: string }>, count: number): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve) => {
    const onData = (response: { status: string }): void => {
      seen.push(response.status);
      if (seen.length < count) return;
      stream.off("data", onData);
      resolve(seen);
    };
    stream.on("data", onData);
  });
}

test("router health - follows readiness: NOT_SERVING with no worker, SERVING when one joins, NOT_SERVING when the last leaves", async () => {
  const watch = client.watch({ service: "" });
  watch.on("error", () => undefined);
  try {
    assert.deepEqual(await nextStatuses(watch, 1), ["NOT_SERVING"]);
    assert.equal(await check(""), "NOT_SERVING");
    assert.equal(await check("sigmaserve.v1.InferenceService"), "NOT_SERVING");

    const joined = nextStatuses(watch, 1);
    pool.upsert(worker.workerInfo());
    assert.deepEqual(await joined, ["SERVING"]);
    assert.equal(await check(""), "SERVING");
    assert.equal(await check("sigmaserve.v1.InferenceService"), "SERVING");

    const left = nextStatuses(watch, 1);
    pool.remove(worker.workerId);
    assert.deepEqual(await left, ["NOT_SERVING"]);
    assert.equal(await check(""), "NOT_SERVING");
    assert.equal(await check("sigmaserve.v1.InferenceService"), "NOT_SERVING");

    const back = nextStatuses(watch, 1);
    pool.upsert(worker.workerInfo());
    assert.deepEqual(await back, ["SERVING"]);
  } finally {
    watch.cancel();
  }
});

test("router health - a worker going DRAINING counts at the next recheck, as for /readyz", async () => {
  pool.upsert(worker.workerInfo());
  follower.recheck();
  assert.equal(await check(""), "SERVING");
  pool.updateLoad(worker.workerLoad({ state: coordv1.WorkerState.DRAINING }));
  assert.equal(poolReadiness(pool).ready, false, "/readyz's rule: a draining worker is not routable");
  follower.recheck();
  assert.equal(await check(""), "NOT_SERVING");
  assert.equal(await check("sigmaserve.v1.InferenceService"), "NOT_SERVING");
  pool.updateLoad(worker.workerLoad({ state: coordv1.WorkerState.READY }));
  follower.recheck();
  assert.equal(await check(""), "SERVING");
});

test("router health - the recheck timer picks up a heartbeat's state change by itself, and sets each status once", async () => {
  const own = new WorkerPool({ maxMessageMib: 16 });
  const set: string[] = [];
  const timed = healthFollowsReadiness({ setStatus: () => undefined, setAll: (s) => void set.push(s) }, own, { recheckMs: 20 });
  try {
    own.upsert(worker.workerInfo());
    own.updateLoad(worker.workerLoad({ state: coordv1.WorkerState.DRAINED }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(set, ["NOT_SERVING", "SERVING", "NOT_SERVING"]);
  } finally {
    timed.stop();
    own.close();
  }
});

test("router health - a started router: readiness follows its static worker, liveness stays SERVING", async () => {
  const own = await FakeWorker.start({ workerId: "fake-static-1" });
  const router = await startRouter(loadRouterConfig(["--workers", own.address, "--grpc-port", "0", "--http-port", "0"], {}), pino({ level: "silent" }));
  const Constructor = makeGenericClientConstructor(healthServiceDefinition, "Health");
  const routerClient = new Constructor(router.grpcAddress, credentials.createInsecure()) as unknown as HealthClient;
  const checkRouter = (service: string) => new Promise<string>((resolve, reject) => routerClient.check({ service }, (err, response) => (err ? reject(err) : resolve(response.status))));
  try {
    assert.equal(await checkRouter(""), "SERVING");
    assert.equal(await checkRouter(LIVENESS_HEALTH_SERVICE), "SERVING");
    const watch = routerClient.watch({ service: "sigmaserve.v1.InferenceService" });
    watch.on("error", () => undefined);
    const statuses = nextStatuses(watch, 2);
    // The worker goes away: the static poll (every second) drops it from the pool.
    await own.stop();
    assert.deepEqual(await statuses, ["SERVING", "NOT_SERVING"]);
    watch.cancel();
    assert.equal(await checkRouter(""), "NOT_SERVING");
    assert.equal(await checkRouter(LIVENESS_HEALTH_SERVICE), "SERVING", "a router with no worker is alive");
  } finally {
    routerClient.close();
    await router.stop();
  }
});
