import assert from "node:assert/strict";
import { test } from "node:test";
import { LeastLoadedSelector } from "./least-loaded-selector.js";
import type { WorkerLoad } from "./worker-selector.js";

function load(workerId: string, runningRequests: number, waitingRequests: number, kvUsageRatio: number): WorkerLoad {
  return { workerId, runningRequests, waitingRequests, activeBlocks: 0, kvUsageRatio };
}

const request = { requestTokens: 64, blockSizeTokens: 16 };

test("selectors least_loaded - picks the fewest running + waiting requests, then the lowest KV usage", () => {
  const selector = new LeastLoadedSelector();
  const selection = selector.select({ ...request, candidates: [load("w1", 3, 1, 0.1), load("w2", 2, 1, 0.9), load("w3", 1, 2, 0.5)] });
  assert.deepEqual(selection, {
    workerId: "w3",
    policy: "least_loaded",
    costs: [
      { workerId: "w1", cost: 4, eligible: true, probability: 0 },
      { workerId: "w2", cost: 3, eligible: true, probability: 0 },
      { workerId: "w3", cost: 3, eligible: true, probability: 1 },
    ],
  });
});

test("selectors least_loaded - a full tie goes to the smallest worker id; it ignores the cache", () => {
  const selector = new LeastLoadedSelector();
  const overlap = new Map([["w2", { matchedBlocks: 4, deviceBlocks: 4, hostBlocks: 0, speculativeBlocks: 0 }]]);
  assert.equal(selector.select({ ...request, overlap, candidates: [load("w2", 1, 0, 0.2), load("w1", 1, 0, 0.2)] })?.workerId, "w1");
  assert.equal(selector.select({ ...request, candidates: [] }), null);
});
