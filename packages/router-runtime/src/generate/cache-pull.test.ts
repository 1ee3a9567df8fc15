import { create } from "@bufbuild/protobuf";
import type { WorkerOverlap } from "@sigmaserve/kv-index";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PooledWorker } from "../workers/worker-pool.js";
import { blockBytesOf, planCachePull } from "./cache-pull.js";

const K_BYTES = 8_192n;
const V_BYTES = 32_768n; // 40 KiB per block, sigma-tiny's at 16 tokens

function worker(id: string, rates: { prefill?: number; bandwidth?: number } = {}): PooledWorker {
  return {
    id,
    address: "127.0.0.1:1",
    info: create(coordv1.WorkerInfoSchema, {
      workerId: id,
      kvCapacity: [
        { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, numBlocks: 100, blockBytes: K_BYTES },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, numBlocks: 100, blockBytes: V_BYTES },
        { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, numBlocks: 400, blockBytes: V_BYTES },
      ],
    }),
    load: create(coordv1.WorkerLoadSchema, { workerId: id, prefillTokensPerS: rates.prefill ?? 0, migrationBytesPerS: rates.bandwidth ?? 0 }),
    client: undefined as never,
    inFlight: 0,
    inFlightBlocks: 0,
    quarantinedUntilMs: 0,
    stalled: false,
    attempts: new Set(),
  };
}

const hold = (matched: number, speculative = 0): WorkerOverlap => ({ matchedBlocks: matched, deviceBlocks: matched, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: speculative });
const hashes = Array.from({ length: 40 }, (_, i) => BigInt(i + 1));

test("cache pull - block bytes are K and V of one block, whatever the tiers", () => {
  assert.equal(blockBytesOf(worker("w")), Number(K_BYTES + V_BYTES));
});

test("cache pull - moves the blocks when the chosen worker's own rates say the pull beats the prefill", () => {
  const target = worker("t", { prefill: 5_000, bandwidth: 200e6 });
  const holder = worker("h");
  // 30 blocks missing: 30 × 16 tokens / 5,000 tok/s = 96 ms to compute; 30 × 40 KiB / 200 MB/s = 6.1 ms to move.
  const plan = planCachePull({ target, candidates: [target, holder, worker("cold")], overlap: new Map([["h", hold(32)], ["t", hold(2)]]), hashes, blockSizeTokens: 16, explored: new Set() });
  assert.equal(plan?.holder.id, "h");
  assert.equal(plan?.missingBlocks, 30);
  assert.deepEqual(plan?.hashes, hashes.slice(0, 32));
  assert.equal(plan?.recomputeMs, 96);
  assert.ok(Math.abs(plan!.pullMs - (30 * 40_960 * 1000) / 200e6) < 1e-9);
});

test("cache pull - stays put when computing is cheaper, too little is missing, or the prefill speed is unmeasured", () => {
  const overlap = new Map([["h", hold(32)]]);
  const holder = worker("h");
  const slowLink = worker("t", { prefill: 5_000, bandwidth: 1e6 }); // 1.2 s to move vs 96 ms to compute
  assert.equal(planCachePull({ target: slowLink, candidates: [slowLink, holder], overlap, hashes, blockSizeTokens: 16, explored: new Set() }), null);
  const fast = worker("t", { prefill: 5_000, bandwidth: 200e6 });
  assert.equal(planCachePull({ target: fast, candidates: [fast, holder], overlap: new Map([["h", hold(32)], ["t", hold(29)]]), hashes, blockSizeTokens: 16, explored: new Set() }), null, "3 blocks missing");
  const unmeasured = worker("t", { bandwidth: 200e6 });
  assert.equal(planCachePull({ target: unmeasured, candidates: [unmeasured, holder], overlap, hashes, blockSizeTokens: 16, explored: new Set() }), null);
  // Speculative claims are the router's own guesses, not blocks anyone can send.
  assert.equal(planCachePull({ target: fast, candidates: [fast, holder], overlap: new Map([["h", hold(32, 30)]]), hashes, blockSizeTokens: 16, explored: new Set() }), null);
});

test("cache pull - a worker that never pulled gets one exploratory pull, for a large enough prefix", () => {
  const target = worker("t", { prefill: 5_000 });
  const holder = worker("h");
  const plan = planCachePull({ target, candidates: [target, holder], overlap: new Map([["h", hold(20)]]), hashes, blockSizeTokens: 16, explored: new Set() });
  assert.equal(plan?.missingBlocks, 20);
  assert.ok(Number.isNaN(plan!.pullMs));
  assert.equal(planCachePull({ target, candidates: [target, holder], overlap: new Map([["h", hold(20)]]), hashes, blockSizeTokens: 16, explored: new Set(["t"]) }), null, "only once");
  assert.equal(planCachePull({ target, candidates: [target, holder], overlap: new Map([["h", hold(10)]]), hashes, blockSizeTokens: 16, explored: new Set() }), null, "10 blocks are below the exploration size");
});
