import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_SPECULATION_TTL_MS, KvIndex } from "./kv-index.js";
import { KvAwareSelector } from "./selectors/kv-aware-selector.js";
import type { WorkerLoad } from "./selectors/worker-selector.js";
import { batchOf, IDLE_POOLS, storedKv } from "./testing/fixtures.js";

const PREFIX = [0x1n, 0x2n, 0x3n, 0x4n, 0x5n, 0x6n, 0x7n, 0x8n];
const BLOCK_SIZE = 16;

function load(workerId: string, activeBlocks: number): WorkerLoad {
  return { workerId, runningRequests: 0, waitingRequests: 0, activeBlocks, ...IDLE_POOLS };
}

test("kv-index speculation - a burst of one prefix sticks to the worker it was first routed to", () => {
  const index = new KvIndex();
  const selector = new KvAwareSelector();
  const request = { requestTokens: PREFIX.length * BLOCK_SIZE, blockSizeTokens: BLOCK_SIZE };

  // Request 1: nobody holds the prefix, w2 is idle: cost w1 = 8 + 4 = 12, w2 = 8 + 0 = 8.
  const first = selector.select({ ...request, candidates: [load("w1", 4), load("w2", 0)], overlap: index.overlap(PREFIX, { nowMs: 0 }) });
  assert.equal(first?.workerId, "w2");
  index.speculate("w2", PREFIX, DEFAULT_SPECULATION_TTL_MS, 0);

  // Request 2, 5 ms later, before w2's stored events: w2 now carries request 1's 8 blocks.
  const candidates = [load("w1", 4), load("w2", 8)];
  const blind = selector.select({ ...request, candidates });
  assert.deepEqual(blind?.costs.map((c) => [c.workerId, c.cost]), [["w1", 12], ["w2", 16]]);
  assert.equal(blind?.workerId, "w1"); // without the claim the prefix would be computed twice
  const second = selector.select({ ...request, candidates, overlap: index.overlap(PREFIX, { nowMs: 5 }) });
  assert.deepEqual(second?.costs.map((c) => [c.workerId, c.cost]), [["w1", 12], ["w2", 8]]);
  assert.equal(second?.workerId, "w2");
});

test("kv-index speculation - a claim counts as device hits until exactly its TTL, and not without nowMs", () => {
  const index = new KvIndex();
  index.speculate("w1", PREFIX.slice(0, 3), 2_000, 1_000);
  assert.deepEqual(index.overlap(PREFIX, { nowMs: 2_999 }).get("w1"), { matchedBlocks: 3, deviceBlocks: 3, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 3 });
  assert.equal(index.overlap(PREFIX, { nowMs: 3_000 }).size, 0);
  assert.equal(index.overlap(PREFIX).size, 0);
  // Pruning at the TTL frees the memory: no hash is left in the index.
  assert.equal(index.pruneSpeculation(3_000), 3);
  assert.equal(index.stats().distinctBlockHashes, 0);
  assert.equal(index.stats().perWorker[0]?.speculativeBlocks, 0);
});

test("kv-index speculation - a stored event confirms the claim, which then outlives the TTL", () => {
  const index = new KvIndex();
  index.speculate("w1", PREFIX.slice(0, 4), 2_000, 0);
  // Blocks 1 and 2 are stored (K and V on device); blocks 3 and 4 never arrive.
  index.applyBatch(batchOf("w1", 1n, 1, storedKv(PREFIX.slice(0, 2))));
  assert.deepEqual(index.overlap(PREFIX, { nowMs: 1_000 }).get("w1"), { matchedBlocks: 4, deviceBlocks: 4, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 2 });
  index.pruneSpeculation(2_000);
  assert.deepEqual(index.overlap(PREFIX, { nowMs: 2_000 }).get("w1"), { matchedBlocks: 2, deviceBlocks: 2, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 });
  assert.equal(index.stats().perWorker[0]?.speculativeBlocks, 0);
  // A confirmed block is then governed by events alone.
  index.applyBatch(batchOf("w1", 1n, 3, [{ kind: "removed", component: "k", tier: "device", blockHashes: [PREFIX[1]!] }]));
  assert.deepEqual(index.overlap(PREFIX, { nowMs: 2_000 }).get("w1")?.matchedBlocks, 1);
});

test("kv-index speculation - claiming again extends the expiry; a claim survives cleared but not removeWorker", () => {
  const index = new KvIndex();
  index.speculate("w1", [PREFIX[0]!], 2_000, 0);
  index.speculate("w1", [PREFIX[0]!], 2_000, 1_500);
  index.pruneSpeculation(2_000); // the first record expires, the extended claim stays
  assert.equal(index.overlap(PREFIX, { nowMs: 3_000 }).get("w1")?.speculativeBlocks, 1);
  index.applyBatch(batchOf("w1", 1n, 1, [{ kind: "cleared" }]));
  assert.equal(index.overlap(PREFIX, { nowMs: 3_000 }).get("w1")?.speculativeBlocks, 1);
  assert.equal(index.overlap(PREFIX, { nowMs: 3_500 }).size, 0);
  index.speculate("w1", [PREFIX[0]!], 2_000, 4_000);
  index.removeWorker("w1");
  assert.equal(index.overlap(PREFIX, { nowMs: 4_001 }).size, 0);
});

test("kv-index speculation - bad arguments throw, a TTL of 0 claims nothing", () => {
  const index = new KvIndex();
  assert.throws(() => index.speculate("", PREFIX, 2_000, 0), { name: "KvIndexArgumentError", argument: "workerId" });
  assert.throws(() => index.speculate("w1", PREFIX, -1, 0), { name: "KvIndexArgumentError", argument: "ttlMs" });
  assert.throws(() => index.speculate("w1", PREFIX, 2_000, Number.NaN), { name: "KvIndexArgumentError", argument: "nowMs" });
  index.speculate("w1", PREFIX, 0, 0);
  assert.equal(index.overlap(PREFIX, { nowMs: 0 }).size, 0);
});
