/**
 * --health-port: a plaintext server beside the worker's gRPC port that serves
 * grpc.health.v1 and nothing else, for Kubernetes probes that cannot speak the
 * worker's mutual TLS. Its statuses are the main port's (one health service on
 * two servers): SERVING once started, NOT_SERVING from the first moment of a
 * drain; WorkerService and reflection are UNIMPLEMENTED there; it closes with
 * the worker.
 */
import { credentials, makeGenericClientConstructor, status, type Client } from "@grpc/grpc-js";
import { createGrpcClient, isGrpcStatusError, workerv1 } from "@sigmaserve/proto";
import { service as healthServiceDefinition } from "grpc-health-check";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";

type HealthClient = Client & { check(request: { service: string }, callback: (err: (Error & { code?: number }) | null, response: { status: string }) => void): void };

const HealthConstructor = makeGenericClientConstructor(healthServiceDefinition, "Health");

/** check(service) on one address: the status, or the gRPC code it failed with. */
function checker(address: string): { check: (service: string) => Promise<string>; close: () => void } {
  const client = new HealthConstructor(address, credentials.createInsecure()) as unknown as HealthClient;
  return {
    check: (service) => new Promise((resolve) => client.check({ service }, (err, response) => resolve(err ? `code ${err.code}` : response.status))),
    close: () => client.close(),
  };
}

test("worker health port - off unless asked; with --health-port it answers like the main port, turns NOT_SERVING with a drain, and serves nothing else", async () => {
  assert.equal(loadWorkerConfig(["--preset", "sigma-tiny"], {}).healthPort, undefined);
  assert.equal(loadWorkerConfig(["--preset", "sigma-tiny"], { SIGMASERVE_WORKER_HEALTH_PORT: "50062" }).healthPort, 50062);

  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--health-port", "0"], {}), pino({ level: "silent" }));
  const healthAddress = runtime.healthAddress;
  assert.ok(healthAddress !== undefined && healthAddress !== runtime.address, `health on its own port: ${healthAddress}`);
  const main = checker(runtime.address);
  const health = checker(healthAddress);
  const both = async (service: string): Promise<string> => {
    const [a, b] = await Promise.all([main.check(service), health.check(service)]);
    assert.equal(b, a, `health port and main port agree on "${service}"`);
    return b;
  };
  try {
    assert.equal(await both(""), "SERVING");
    assert.equal(await both("sigmaserve.worker.v1.WorkerService"), "SERVING");
    assert.equal(await both("no.such.Service"), `code ${status.NOT_FOUND}`);

    // Only health: WorkerService is not served there (Generate, GetTokenizer, Drain alike).
    const worker = createGrpcClient(workerv1.WorkerService, healthAddress);
    await assert.rejects(
      (async () => {
        for await (const _ of worker.generate({ requestId: "on-health-port", model: "sigma-tiny", promptTokenIds: [1, 2, 3] })) assert.fail("a response on the health port");
      })(),
      (err: unknown) => isGrpcStatusError(err) && err.code === status.UNIMPLEMENTED,
    );
    await assert.rejects(worker.drain({}), (err: unknown) => isGrpcStatusError(err) && err.code === status.UNIMPLEMENTED);
    worker.close();

    // A drain turns both NOT_SERVING at once (readiness takes the pod out of its Services).
    await runtime.drain(0);
    assert.equal(await both(""), "NOT_SERVING");
    assert.equal(await both("sigmaserve.worker.v1.WorkerService"), "NOT_SERVING");
  } finally {
    main.close();
    health.close();
    await runtime.stop();
  }
  // It stops with the worker.
  const after = checker(healthAddress);
  assert.equal(await after.check(""), `code ${status.UNAVAILABLE}`);
  after.close();
});
