/**
 * Issue 15, defect 4: a stalled worker (SIGSTOPped, a hung GPU) used to hang
 * its streams for the whole stop; the router dropped the worker from its
 * pool after its heartbeats stopped but never failed the stream over. Now a
 * stream silent for the stall timeout after its first token fails over and
 * continues gap-free on another worker, the stalled worker takes nothing new
 * until it reports its load again, and a worker that leaves the pool has its
 * streams failed over at once. Workers are FakeWorkers (test doubles over
 * real gRPC); the real processes are SIGSTOPped in the chaos suite.
 */
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { Dispatcher, type DispatchEvent, type RoutedRequest } from "./dispatcher.js";

const REPLY = "The quick brown fox jumps over the lazy dog";

const request = (id: string): RoutedRequest => ({
  requestId: id,
  clientRequestId: id,
  model: "sigma-tiny",
  promptTokens: [1, 2, 3],
  sampling: create(inferencev1.SamplingParamsSchema, { maxTokens: 64, temperature: 0, seed: 7n }),
  cacheSalt: "",
  priority: 0,
  arrivedAtMs: Date.now(),
  arrivedAtPerfMs: performance.now(),
});

async function collect(events: AsyncGenerator<DispatchEvent>): Promise<{ text: string; offsets: number[]; finish: inferencev1.GenerateFinish | undefined }> {
  let text = "";
  const offsets: number[] = [];
  let finish: inferencev1.GenerateFinish | undefined;
  for await (const event of events) {
    if (event.kind === "chunk") {
      text += event.chunk.textDelta;
      offsets.push(event.chunk.completionOffset);
    } else finish = event.finish;
  }
  return { text, offsets, finish };
}

async function withWorkers(run: (stalling: FakeWorker, healthy: FakeWorker, pool: WorkerPool, failovers: string[], dispatcher: Dispatcher) => Promise<void>): Promise<void> {
  // w-a goes silent after 8 tokens; round_robin sends the first attempt to w-a.
  const stalling = await FakeWorker.start({ workerId: "w-a", behaviour: { reply: REPLY, stallAfterTokens: 8 } });
  const healthy = await FakeWorker.start({ workerId: "w-b", behaviour: { reply: REPLY } });
  const pool = new WorkerPool({ maxMessageMib: 16 });
  for (const w of [stalling, healthy]) pool.upsert(w.workerInfo());
  const failovers: string[] = [];
  const dispatcher = new Dispatcher({
    pool,
    index: new KvIndex(),
    selector: createWorkerSelector("round_robin"),
    logger: pino({ level: "silent" }),
    stallTimeoutMs: 200,
    onFailover: (_request, kind, from) => failovers.push(`${kind} ${from}`),
  });
  try {
    await run(stalling, healthy, pool, failovers, dispatcher);
  } finally {
    pool.close();
    await Promise.all([stalling.stop(), healthy.stop()]);
  }
}

test("dispatcher stall - a stream silent for the stall timeout after its first tokens is replayed on another worker, gap-free", async () => {
  await withWorkers(async (stalling, healthy, pool, failovers, dispatcher) => {
    const { text, offsets, finish } = await collect(dispatcher.generate(request("r1"), new AbortController().signal));
    assert.equal(text, REPLY);
    assert.deepEqual(offsets, [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    assert.equal(finish?.finishReason, inferencev1.FinishReason.STOP);
    assert.deepEqual(failovers, ["replay w-a"]);
    // The hung worker's call was cancelled (it cannot emit into the stream that moved on) ...
    assert.deepEqual(await stalling.calls[0]!.ended, { aborted: true, sentTokens: 8 });
    assert.equal(healthy.calls[0]!.request.generatedTokenIds.length, 8);
    // ... and it takes nothing new until it reports its load again.
    assert.deepEqual(
      pool.routable("sigma-tiny", Date.now() + 60_000).map((w) => w.id),
      ["w-b"],
    );
    pool.updateLoad(stalling.workerLoad());
    assert.deepEqual(
      pool.routable("sigma-tiny", Date.now() + 60_000).map((w) => w.id),
      ["w-a", "w-b"],
    );
  });
});

test("dispatcher stall - a worker that leaves the pool has its streams failed over at once", async () => {
  await withWorkers(async (stalling, _healthy, pool, failovers, dispatcher) => {
    // No stall timeout in reach: only the removal (its heartbeats stopped) can move the stream.
    const patient = new Dispatcher({ ...(dispatcher as unknown as { options: ConstructorParameters<typeof Dispatcher>[0] }).options, stallTimeoutMs: 3_600_000 });
    const events = patient.generate(request("r2"), new AbortController().signal);
    const first = await events.next();
    assert.equal(first.done, false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    pool.remove("w-a");
    const rest = await collect(events);
    assert.equal((first.value as Extract<DispatchEvent, { kind: "chunk" }>).chunk.textDelta + rest.text, REPLY);
    assert.deepEqual(failovers, ["replay w-a"]);
    assert.equal((await stalling.calls[0]!.ended).aborted, true);
  });
});

test("dispatcher stall - workers that cannot be reached (killed, still registered) cost no replay and take nothing new until they report again", async () => {
  const failing = await FakeWorker.start({ workerId: "w-a", behaviour: { reply: REPLY, fail: { code: status.UNAVAILABLE, details: "worker killed", afterTokens: 8 } } });
  const dead = await Promise.all(["w-b", "w-c"].map((workerId) => FakeWorker.start({ workerId, behaviour: { reply: REPLY } })));
  const healthy = await FakeWorker.start({ workerId: "w-d", behaviour: { reply: REPLY } });
  const pool = new WorkerPool({ maxMessageMib: 16 });
  for (const w of [failing, ...dead, healthy]) pool.upsert(w.workerInfo());
  // Killed: their ports refuse connections, their registry entries stay.
  await Promise.all(dead.map((w) => w.stop()));
  const failovers: string[] = [];
  // One replay allowed: w-a fails mid-stream (the replay), then the dead w-b and w-c are tried before w-d.
  const dispatcher = new Dispatcher({ pool, index: new KvIndex(), selector: createWorkerSelector("round_robin"), logger: pino({ level: "silent" }), maxReplays: 1, onFailover: (_request, kind, from) => failovers.push(`${kind} ${from}`) });
  try {
    const { text, finish } = await collect(dispatcher.generate(request("r3"), new AbortController().signal));
    assert.equal(text, REPLY);
    assert.equal(finish?.finishReason, inferencev1.FinishReason.STOP);
    assert.equal(failovers[0], "replay w-a");
    assert.deepEqual(failovers.slice(1).sort(), ["replay w-b", "replay w-c"]);
    assert.equal(healthy.calls[0]!.request.generatedTokenIds.length, 8);
    assert.deepEqual(
      pool.list().filter((w) => w.stalled).map((w) => w.id),
      ["w-b", "w-c"],
    );
  } finally {
    pool.close();
    await Promise.all([failing.stop(), healthy.stop()]);
  }
});
