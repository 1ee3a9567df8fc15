/**
 * The dispatcher asks a holder to move a prefix to the worker it chose when
 * that worker's measured rates say moving beats computing. The workers are
 * FakeWorkers (test doubles over real gRPC); the bus is the real in-memory
 * CoordBus, with the holder's migrate.request scripted (the real migration
 * behind it is tested in worker-runtime and test/).
 */
import { create } from "@bufbuild/protobuf";
import { MemoryCoordHub, createMemoryCoordBus } from "@sigmaserve/coord";
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { coordv1, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FAKE_BLOCK_SIZE_TOKENS, FAKE_MODEL_ID, FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { Dispatcher, type RouteDecision, type RoutedRequest } from "./dispatcher.js";

const PROMPT = Array.from({ length: 16 * 24 + 3 }, (_, i) => (i * 7) % 256); // 24 full blocks
const request: RoutedRequest = {
  requestId: "r1",
  clientRequestId: "r1",
  model: FAKE_MODEL_ID,
  promptTokens: PROMPT,
  sampling: create(inferencev1.SamplingParamsSchema, { maxTokens: 4, temperature: 0, seed: 1n }),
  cacheSalt: "",
  priority: 0,
  arrivedAtMs: Date.now(),
  arrivedAtPerfMs: performance.now(),
};

async function scenario(targetRates: { prefill: number; bandwidth: number }) {
  const hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
  const [routerBus, holderBus] = [createMemoryCoordBus({ hub }), createMemoryCoordBus({ hub })];
  const asked: coordv1.MigrationRequest[] = [];
  await holderBus.serveControl("w-holder", {
    migrateRequest: async (migration) => {
      asked.push(migration);
      return create(coordv1.MigrationResultSchema, { outcome: coordv1.MigrationOutcome.DONE, offeredBlocks: 24, wantedBlocks: 24, done: { blocksImported: 24 } });
    },
  });
  const [holder, target] = await Promise.all([FakeWorker.start({ workerId: "w-holder" }), FakeWorker.start({ workerId: "w-target" })]);
  const pool = new WorkerPool({ maxMessageMib: 16 });
  for (const w of [holder, target]) pool.upsert(w.workerInfo());
  // The holder is busy, so least_loaded picks the target.
  pool.updateLoad(create(coordv1.WorkerLoadSchema, { ...holder.workerLoad({ runningRequests: 9 }) }));
  pool.updateLoad(create(coordv1.WorkerLoadSchema, { ...target.workerLoad({ runningRequests: 0, waitingRequests: 0 }), prefillTokensPerS: targetRates.prefill, migrationBytesPerS: targetRates.bandwidth }));
  const index = new KvIndex();
  const hashes = prefixBlockHashes(PROMPT, { blockSizeTokens: FAKE_BLOCK_SIZE_TOKENS, modelId: FAKE_MODEL_ID });
  index.applyBatch({ workerId: "w-holder", epoch: 1n, firstSeq: 1, events: [{ kind: "stored", seq: 1, component: "k", tier: "device", blockHashes: hashes }, { kind: "stored", seq: 2, component: "v", tier: "device", blockHashes: hashes }] });
  const decisions: RouteDecision[] = [];
  const dispatcher = new Dispatcher({ pool, index, selector: createWorkerSelector("least_loaded"), logger: pino({ level: "silent" }), cachePulls: { bus: routerBus }, onRoute: (_, d) => decisions.push(d) });
  try {
    for await (const _ of dispatcher.generate(request, new AbortController().signal));
  } finally {
    pool.close();
    await Promise.all([holder.stop(), target.stop(), routerBus.close(), holderBus.close()]);
  }
  return { asked, decisions, hashes, target };
}

test("dispatcher cache pull - the holder moves the prefix to the chosen worker first when its rates say moving is cheaper", async () => {
  // 24 blocks of 40 KiB at 500 MB/s: 2 ms; their 384 tokens at 1,000 tok/s: 384 ms.
  const { asked, decisions, hashes } = await scenario({ prefill: 1_000, bandwidth: 500e6 });
  assert.equal(asked.length, 1);
  assert.deepEqual([asked[0]!.targetWorkerId, asked[0]!.blockHashes, asked[0]!.requesterId], ["w-target", hashes, "router"]);
  assert.deepEqual(decisions.map((d) => [d.workerId, d.cachePull]), [["w-target", { fromWorkerId: "w-holder", blocks: 24, outcome: "DONE" }]]);
});

test("dispatcher cache pull - no pull when computing is cheaper on the chosen worker", async () => {
  // 24 blocks of 40 KiB at 1 MB/s: 983 ms; their 384 tokens at 1M tok/s: 0.4 ms.
  const { asked, decisions } = await scenario({ prefill: 1_000_000, bandwidth: 1e6 });
  assert.equal(asked.length, 0);
  assert.equal(decisions[0]?.cachePull, undefined);
});
