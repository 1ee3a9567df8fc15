import { create } from "@bufbuild/protobuf";
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { coordv1, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAKE_BLOCK_SIZE_TOKENS, FAKE_MODEL_ID, FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import type { RoutedRequest } from "./dispatcher.js";
import { planSplit } from "./prefill-split.js";

const request = (tokens: number): RoutedRequest => ({
  requestId: `r${tokens}`,
  clientRequestId: "",
  model: FAKE_MODEL_ID,
  promptTokens: Array.from({ length: tokens }, (_, i) => i % 256),
  sampling: create(inferencev1.SamplingParamsSchema, { maxTokens: 8, seed: 1n }),
  cacheSalt: "",
  priority: 0,
  arrivedAtMs: Date.now(),
  arrivedAtPerfMs: performance.now(),
});

test("prefill split - planned only for a long prompt the decode worker lacks, with a prefill worker free enough", async () => {
  const fakes = await Promise.all(["p1", "p2", "d1"].map((workerId) => FakeWorker.start({ workerId })));
  const pool = new WorkerPool({ maxMessageMib: 16 });
  const roles = [coordv1.WorkerRole.PREFILL, coordv1.WorkerRole.PREFILL, coordv1.WorkerRole.DECODE];
  fakes.forEach((fake, i) => pool.upsert(create(coordv1.WorkerInfoSchema, { ...fake.workerInfo(), role: roles[i]! })));
  const index = new KvIndex();
  const options = { pool, index, selector: createWorkerSelector("kv_aware"), split: { bus: { requestMigration: async () => create(coordv1.MigrationResultSchema) }, minPromptTokens: 256, maxPrefillQueue: 1 } };
  try {
    assert.equal(planSplit(options, request(255)), null, "too short");
    assert.equal(planSplit({ ...options, split: undefined }, request(400)), null, "no split configured");
    pool.get("p1")!.inFlight = 1;
    const plan = planSplit(options, request(400));
    assert.deepEqual([plan?.prefill.worker.id, plan?.decode.id, plan?.hashes.length, plan?.prefill.decision.policy], ["p2", "d1", 25, "prefill"], "the least queued prefill worker");
    pool.get("p1")!.inFlight = 2;
    pool.get("p2")!.inFlight = 2;
    assert.equal(planSplit(options, request(400)), null, "every prefill worker is over its queue limit");
    pool.get("p1")!.inFlight = 0;
    pool.get("p2")!.inFlight = 0;
    // The decode worker holding the prompt: a split would move nothing worth moving.
    const hashes = prefixBlockHashes(request(400).promptTokens, { blockSizeTokens: FAKE_BLOCK_SIZE_TOKENS, modelId: FAKE_MODEL_ID });
    index.applyBatch({ workerId: "d1", epoch: 1n, firstSeq: 1, events: [{ kind: "stored", seq: 1, component: "k", tier: "device", blockHashes: hashes }, { kind: "stored", seq: 2, component: "v", tier: "device", blockHashes: hashes }] });
    assert.equal(planSplit(options, request(400)), null, "cached on the decode worker");
    // A 600-token prompt of which the decode worker holds 400: 200 uncached tokens are below the threshold.
    assert.equal(planSplit(options, { ...request(600), promptTokens: [...request(400).promptTokens, ...Array.from({ length: 200 }, () => 7)] }), null);
  } finally {
    pool.close();
    await Promise.all(fakes.map((f) => f.stop()));
  }
});
