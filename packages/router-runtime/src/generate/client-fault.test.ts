/**
 * The last line of defence: a routed request that somehow got past
 * validation and cannot be serialised for the worker (temperature 1e300 does
 * not fit float32) is the request's fault. It fails with INVALID_ARGUMENT,
 * reaches no worker, and neither fails over nor quarantines anything, so the
 * other clients keep being served.
 */
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { GrpcStatusError, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FakeWorker } from "../testing/fake-worker.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";
import type { RoutedRequest } from "./dispatcher.js";

let router: TestRouter;
let second: FakeWorker;
before(async () => {
  router = await startTestRouter();
  second = await FakeWorker.start({ workerId: "fake-worker-2" });
  router.pipeline.pool.upsert(second.workerInfo());
});
after(async () => {
  await router.close();
  await second.stop();
});

function routed(sampling: Parameters<typeof create<typeof inferencev1.SamplingParamsSchema>>[1]): RoutedRequest {
  return {
    requestId: "r1",
    clientRequestId: "",
    model: "sigma-tiny",
    promptTokens: [256, 72, 105],
    sampling: create(inferencev1.SamplingParamsSchema, { seed: 1n, maxTokens: 4, ...sampling }),
    cacheSalt: "",
    priority: 0,
    arrivedAtMs: Date.now(),
    arrivedAtPerfMs: performance.now(),
  };
}

test("generate-router - a request that cannot be serialised is INVALID_ARGUMENT, never a worker failure", async () => {
  const events = router.pipeline.dispatcher.generate(routed({ temperature: 1e300 }), new AbortController().signal);
  await assert.rejects(events.next(), (err: unknown) => {
    assert.ok(err instanceof GrpcStatusError, String(err));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.ok(err.details.startsWith("the sigmaserve.worker.v1.GenerateRequest cannot be serialised: "), err.details);
    return true;
  });
  assert.deepEqual([router.worker!.calls.length, second.calls.length], [0, 0], "tried once, sent to nobody");
  assert.deepEqual(router.pipeline.pool.list().map((w) => w.quarantinedUntilMs), [0, 0]);
  const tokens: number[] = [];
  for await (const event of router.pipeline.dispatcher.generate(routed({ temperature: 0 }), new AbortController().signal)) {
    if (event.kind === "chunk") tokens.push(...event.chunk.tokenIds);
  }
  assert.equal(tokens.length, 4);
});
