/**
 * A worker that drains with migration ends a stream handed over, naming the
 * worker that received the request's KV (trailer sigmaserve-handover-to).
 * The dispatcher must continue exactly there, with the tokens already sent,
 * and must not count it as a failure. Workers are FakeWorkers (test doubles
 * over real gRPC); the real handover runs in test/ and worker-runtime.
 */
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { HANDOVER_TARGET_METADATA, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { Dispatcher, type DispatchEvent, type RoutedRequest } from "./dispatcher.js";

const request = (id: string): RoutedRequest => ({
  requestId: id,
  clientRequestId: id,
  model: "sigma-tiny",
  promptTokens: [1, 2, 3],
  sampling: create(inferencev1.SamplingParamsSchema, { maxTokens: 13, temperature: 0, seed: 7n }),
  cacheSalt: "",
  priority: 0,
  arrivedAtMs: Date.now(),
  arrivedAtPerfMs: performance.now(),
});

/** Each failover the dispatcher reports, as "kind from-worker". */
const failovers: string[] = [];

async function withCluster(run: (workers: FakeWorker[], dispatcher: (maxReplays: number) => Dispatcher) => Promise<void>): Promise<void> {
  const workers = await Promise.all(["w-a", "w-b", "w-c"].map((workerId) => FakeWorker.start({ workerId })));
  const pool = new WorkerPool({ maxMessageMib: 16 });
  for (const w of workers) pool.upsert(w.workerInfo());
  failovers.length = 0;
  try {
    // round_robin would send a replay to w-b next: only the trailer can make it w-c.
    await run(workers, (maxReplays) =>
      new Dispatcher({ pool, index: new KvIndex(), selector: createWorkerSelector("round_robin"), logger: pino({ level: "silent" }), maxReplays, onFailover: (_request, kind, from) => failovers.push(`${kind} ${from}`) }),
    );
  } finally {
    pool.close();
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function collect(events: AsyncGenerator<DispatchEvent>): Promise<{ tokens: number[]; finish: inferencev1.GenerateFinish | undefined }> {
  const tokens: number[] = [];
  let finish: inferencev1.GenerateFinish | undefined;
  for await (const event of events) {
    if (event.kind === "chunk") tokens.push(...event.chunk.tokenIds);
    else finish = event.finish;
  }
  return { tokens, finish };
}

test("dispatcher handover - the stream continues on the worker the trailer names, with the tokens sent, and it is no replay", async () => {
  await withCluster(async ([a, b, c], dispatcher) => {
    a!.behaviour.fail = { code: status.UNAVAILABLE, details: "handed over", afterTokens: 4, trailers: { [HANDOVER_TARGET_METADATA]: "w-c" } };
    const { tokens, finish } = await collect(dispatcher(0).generate(request("r1"), new AbortController().signal));
    assert.equal(finish?.finishReason, inferencev1.FinishReason.STOP, "completed although max_replays is 0");
    assert.deepEqual([a!.calls.length, b!.calls.length, c!.calls.length], [1, 0, 1]);
    assert.deepEqual(c!.calls[0]!.request.generatedTokenIds, tokens.slice(0, 4));
    assert.deepEqual(failovers, ["handover w-a"], "reported as a handover, not a replay");
  });
});

test("dispatcher handover - without a trailer it is an ordinary failure: replayed by the selector, counted against max_replays", async () => {
  await withCluster(async ([a, b, c], dispatcher) => {
    a!.behaviour.fail = { code: status.UNAVAILABLE, details: "draining, nothing moved", afterTokens: 4 };
    const gaveUp = await collect(dispatcher(0).generate(request("r2"), new AbortController().signal));
    assert.equal(gaveUp.finish?.finishReason, inferencev1.FinishReason.ERROR);
    assert.match(gaveUp.finish!.errorMessage, /gave up after 0 replays/);
    a!.behaviour.fail = { code: status.UNAVAILABLE, details: "draining, nothing moved", afterTokens: 4 };
    a!.calls.length = 0;
    // A trailer naming a worker that is not routable falls back to the selector too.
    a!.behaviour.fail.trailers = { [HANDOVER_TARGET_METADATA]: "w-gone" };
    const replayed = await collect(dispatcher(1).generate(request("r3"), new AbortController().signal));
    assert.equal(replayed.finish?.finishReason, inferencev1.FinishReason.STOP);
    assert.equal(b!.calls.length + c!.calls.length, 1);
    assert.deepEqual(failovers, [], "r2 gave up without moving; r3 went to a worker that did not fail (w-a is quarantined)");
  });
});

test("dispatcher failover - reported by kind: a failure before the first token is a retry, one mid-stream a replay", async () => {
  await withCluster(async ([a], dispatcher) => {
    a!.behaviour.fail = { code: status.UNAVAILABLE, details: "gone", afterTokens: 0 };
    assert.equal((await collect(dispatcher(1).generate(request("r4"), new AbortController().signal))).finish?.finishReason, inferencev1.FinishReason.STOP);
    assert.deepEqual(failovers, ["retry w-a"]);
  });
  await withCluster(async ([a], dispatcher) => {
    a!.behaviour.fail = { code: status.UNAVAILABLE, details: "gone", afterTokens: 4 };
    assert.equal((await collect(dispatcher(1).generate(request("r5"), new AbortController().signal))).finish?.finishReason, inferencev1.FinishReason.STOP);
    assert.deepEqual(failovers, ["replay w-a"]);
  });
});
