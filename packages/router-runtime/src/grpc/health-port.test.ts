/**
 * --health-port: a plaintext server beside the router's gRPC port that serves
 * grpc.health.v1 and nothing else, for Kubernetes probes that cannot speak the
 * door's TLS. Its statuses are the main port's (one health service on two
 * servers): readiness follows the pool on both, "liveness" stays SERVING on
 * both; InferenceService and reflection are UNIMPLEMENTED there; it closes
 * with the router.
 */
import { credentials, makeGenericClientConstructor, status, type Client } from "@grpc/grpc-js";
import { createGrpcClient, inferencev1, isGrpcStatusError } from "@sigmaserve/proto";
import { service as healthServiceDefinition } from "grpc-health-check";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadRouterConfig } from "../config/router-config.js";
import { startRouter } from "../router-runtime.js";
import { FakeWorker } from "../testing/fake-worker.js";
import { LIVENESS_HEALTH_SERVICE } from "./health-follows-readiness.js";

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

/** Polls until `read` returns `want` (the static discovery notices a lost worker within about a second). */
async function until(read: () => Promise<string>, want: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== want && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  assert.equal(last, want);
}

test("router health port - off unless asked; with --health-port it answers like the main port, follows readiness, and serves nothing else", async () => {
  assert.equal(loadRouterConfig(["--workers", "127.0.0.1:1"], {}).healthPort, undefined);
  assert.equal(loadRouterConfig(["--workers", "127.0.0.1:1"], { SIGMASERVE_ROUTER_HEALTH_PORT: "50052" }).healthPort, 50052);

  const worker = await FakeWorker.start({ workerId: "fake-health-port-1" });
  const router = await startRouter(loadRouterConfig(["--workers", worker.address, "--grpc-port", "0", "--http-port", "0", "--health-port", "0"], {}), pino({ level: "silent" }));
  assert.ok(router.healthAddress !== undefined && router.healthAddress !== router.grpcAddress, `health on its own port: ${router.healthAddress}`);
  const main = checker(router.grpcAddress);
  const health = checker(router.healthAddress);
  const both = async (service: string): Promise<string> => {
    const [a, b] = await Promise.all([main.check(service), health.check(service)]);
    assert.equal(b, a, `health port and main port agree on "${service}"`);
    return b;
  };
  try {
    for (const service of ["", "sigmaserve.v1.InferenceService", LIVENESS_HEALTH_SERVICE]) assert.equal(await both(service), "SERVING", service);
    assert.equal(await both("no.such.Service"), `code ${status.NOT_FOUND}`);

    // Only health: InferenceService (and reflection) are not served there.
    const inference = createGrpcClient(inferencev1.InferenceService, router.healthAddress);
    await assert.rejects(
      (async () => {
        for await (const _ of inference.generate({ model: "sigma-tiny", prompt: { case: "text", value: "hi" } })) assert.fail("a response on the health port");
      })(),
      (err: unknown) => isGrpcStatusError(err) && err.code === status.UNIMPLEMENTED,
    );
    await assert.rejects(inference.listModels({}), (err: unknown) => isGrpcStatusError(err) && err.code === status.UNIMPLEMENTED);
    inference.close();

    // The last worker goes: readiness turns NOT_SERVING on both ports, liveness stays SERVING.
    await worker.stop();
    await until(() => health.check(""), "NOT_SERVING");
    assert.equal(await both(""), "NOT_SERVING");
    assert.equal(await both("sigmaserve.v1.InferenceService"), "NOT_SERVING");
    assert.equal(await both(LIVENESS_HEALTH_SERVICE), "SERVING", "a router with no worker is alive");
  } finally {
    main.close();
    health.close();
    await router.stop();
  }
  // It stops with the router.
  const after = checker(router.healthAddress);
  assert.equal(await after.check(""), `code ${status.UNAVAILABLE}`);
  after.close();
});
