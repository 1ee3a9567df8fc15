import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { createWorkerSelector, KvAwareSelector, KvIndex } from "@sigmaserve/kv-index";
import { KV_HASH_ALGORITHM, prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import type { PooledWorker } from "../workers/worker-pool.js";
import { groupByHashSpec, kvUsageOf, selectWorker, workerLoadOf } from "./route-candidates.js";

const MODEL = "sigma-tiny";
const EPOCH = 7n;
const PROMPT = Array.from({ length: 256 }, (_, i) => (i * 37) % 251); // 16 blocks of 16
const REQUEST = { model: MODEL, promptTokens: PROMPT, cacheSalt: "" };

interface Pools {
  /** Pinned / total blocks per pool; a pool left out has no blocks. */
  kDevice?: [number, number];
  vDevice?: [number, number];
  vHost?: [number, number];
}

/** A registry entry and heartbeat as a real worker sends them (no gRPC client: selection never calls it). */
function worker(id: string, options: { blockSizeTokens?: number; algorithm?: string; selectiveVTopk?: number; pools?: Pools } = {}): PooledWorker {
  const pools = options.pools ?? { kDevice: [100, 1000], vDevice: [100, 1000] };
  const row = (component: kvv1.KvComponent, tier: kvv1.KvTier, usage: [number, number] | undefined) =>
    usage === undefined ? [] : [{ component, tier, usedBlocks: usage[0], cachedFreeBlocks: 0, totalBlocks: usage[1] }];
  return {
    id,
    address: "127.0.0.1:1",
    info: create(coordv1.WorkerInfoSchema, {
      workerId: id,
      epoch: EPOCH,
      model: { id: MODEL },
      kvHash: { algorithm: options.algorithm ?? KV_HASH_ALGORITHM, blockSizeTokens: options.blockSizeTokens ?? 16 },
      selectiveVTopk: options.selectiveVTopk ?? 0,
    }),
    load: create(coordv1.WorkerLoadSchema, {
      workerId: id,
      epoch: EPOCH,
      state: coordv1.WorkerState.READY,
      kvUsage: [
        ...row(kvv1.KvComponent.K, kvv1.KvTier.DEVICE, pools.kDevice),
        ...row(kvv1.KvComponent.V, kvv1.KvTier.DEVICE, pools.vDevice),
        ...row(kvv1.KvComponent.V, kvv1.KvTier.HOST, pools.vHost),
      ],
    }),
    client: undefined as never,
    inFlight: 0,
    inFlightBlocks: 0,
    quarantinedUntilMs: 0,
    stalled: false,
    attempts: new Set(),
  };
}

/** An index in which each worker holds the whole prompt under a 16-token spec: K on the device, V on `vTier`. */
function indexHolding(workers: string[], vTier: "device" | "host"): KvIndex {
  const index = new KvIndex();
  const hashes = prefixBlockHashes(PROMPT, { blockSizeTokens: 16, modelId: MODEL });
  for (const workerId of workers) {
    index.applyBatch({
      workerId,
      epoch: EPOCH,
      firstSeq: 1,
      events: [
        { kind: "stored", seq: 1, component: "k", tier: "device", blockHashes: hashes },
        { kind: "stored", seq: 2, component: "v", tier: vTier, blockHashes: hashes },
      ],
    });
  }
  return index;
}

test("route candidates - load rows become K and V usage per tier (pinned / all), selective V from the registry entry", () => {
  const w = worker("w1", { selectiveVTopk: 64, pools: { kDevice: [250, 1000], vDevice: [10, 40], vHost: [900, 1200] } });
  assert.deepEqual(kvUsageOf(w), { k: { device: 0.25, host: 0 }, v: { device: 0.25, host: 0.75 } });
  assert.deepEqual(workerLoadOf(w), { workerId: "w1", runningRequests: 0, waitingRequests: 0, activeBlocks: 0, kvUsage: kvUsageOf(w), selectiveV: true });
  // Before the first heartbeat: nothing pinned.
  assert.deepEqual(kvUsageOf({ ...w, load: undefined }), { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } });
});

test("route candidates - two selective-V workers that differ only in V host pressure: the router picks the one with room", () => {
  const index = indexHolding(["a", "b"], "host");
  // a would win the tie by id; its host V is 87.5 % pinned.
  const a = worker("a", { selectiveVTopk: 64, pools: { kDevice: [100, 1000], vDevice: [10, 100], vHost: [3500, 4000] } });
  const b = worker("b", { selectiveVTopk: 64, pools: { kDevice: [100, 1000], vDevice: [10, 100], vHost: [2000, 4000] } });
  const choice = selectWorker(new KvAwareSelector(), index, [a, b], REQUEST, 0);
  assert.equal(choice?.worker.id, "b");
  // Both hold the 16 blocks with V on the host, which on selective-V workers is a ready (device) hit.
  assert.deepEqual(choice?.overlap, { matchedBlocks: 16, deviceBlocks: 0, hostBlocks: 16, kDeviceVHostBlocks: 16, speculativeBlocks: 0 });
  assert.deepEqual(
    choice?.selection.costs.map((line) => [line.workerId, line.cost]),
    [
      ["a", 8], // 16 blocks · (0.875 − 0.75) / 0.25
      ["b", 0],
    ],
  );
  // With equal pressure the tie goes back to a.
  assert.equal(selectWorker(new KvAwareSelector(), index, [a, { ...b, load: a.load }], REQUEST, 0)?.worker.id, "a");
});

test("route candidates - two workers that differ only in K device pressure: the router picks the one with room", () => {
  const index = indexHolding(["a", "b"], "device");
  const a = worker("a", { pools: { kDevice: [960, 1000], vDevice: [100, 1000] } });
  const b = worker("b", { pools: { kDevice: [500, 1000], vDevice: [100, 1000] } });
  assert.equal(selectWorker(new KvAwareSelector(), index, [a, b], REQUEST, 0)?.worker.id, "b");
  assert.equal(selectWorker(new KvAwareSelector(), index, [b, { ...a, load: b.load }], REQUEST, 0)?.worker.id, "a");
});

test("route candidates - workers with different hash specs are never mixed: each is scored with its own hashes and block size", () => {
  // w16 holds the prompt under 16-token blocks. w32 uses 32-token blocks: w16's hashes mean nothing to it.
  const index = indexHolding(["w16"], "device");
  const w16 = worker("w16", { blockSizeTokens: 16 });
  const w32 = worker("w32", { blockSizeTokens: 32 });
  const odd = worker("odd", { algorithm: "md5/v0" });
  assert.deepEqual(
    groupByHashSpec([w32, odd, w16]).map((group) => [group.spec?.blockSizeTokens ?? null, group.workers.map((w) => w.id)]),
    [
      [16, ["w16"]],
      [32, ["w32"]],
      [null, ["odd"]],
    ],
  );
  const choice = selectWorker(new KvAwareSelector(), index, [w32, odd, w16], REQUEST, 0);
  assert.equal(choice?.worker.id, "w16");
  assert.deepEqual(choice?.hashes, prefixBlockHashes(PROMPT, { blockSizeTokens: 16, modelId: MODEL }));
  assert.equal(choice?.overlap.matchedBlocks, 16);
  // Without the cache holder, the cold 32-token worker (8 blocks of 32 to prefill: 256 tokens) ties with
  // the unhashable one (16 blocks of 16: 256 tokens); the tie goes to the smaller id.
  const cold = selectWorker(new KvAwareSelector(), index, [w32, odd], REQUEST, 0);
  assert.deepEqual([cold?.worker.id, cold?.hashes.length, cold?.overlap.matchedBlocks], ["odd", 0, 0]);
  const only32 = selectWorker(new KvAwareSelector(), index, [w32], REQUEST, 0);
  assert.deepEqual([only32?.worker.id, only32?.hashes.length], ["w32", 8]);
});

test("route candidates - cache-blind policies see every candidate at once and still get the chosen worker's hashes", () => {
  const index = indexHolding(["w16"], "device");
  const choice = selectWorker(createWorkerSelector("round_robin"), index, [worker("w16"), worker("w32", { blockSizeTokens: 32 })], REQUEST, 0);
  assert.equal(choice?.worker.id, "w16");
  assert.equal(choice?.hashes.length, 16);
  assert.equal(choice?.overlap.matchedBlocks, 16);
  assert.equal(selectWorker(createWorkerSelector("least_loaded"), index, [], REQUEST, 0), null);
});
