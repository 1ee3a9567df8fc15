import assert from "node:assert/strict";
import { test } from "node:test";
import { usageOf } from "../testing/fixtures.js";
import { LeastLoadedSelector } from "./least-loaded-selector.js";
import type { WorkerLoad } from "./worker-selector.js";

/** `pressure` on the device's K and V alike. */
function load(workerId: string, runningRequests: number, waitingRequests: number, pressure: number): WorkerLoad {
  return { workerId, runningRequests, waitingRequests, activeBlocks: 0, kvUsage: usageOf(pressure, pressure), selectiveV: false };
}

const request = { requestTokens: 64, blockSizeTokens: 16 };

test("selectors least_loaded - picks the fewest running + waiting requests, then the lowest KV pressure", () => {
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
  const overlap = new Map([["w2", { matchedBlocks: 4, deviceBlocks: 4, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 }]]);
  assert.equal(selector.select({ ...request, overlap, candidates: [load("w2", 1, 0, 0.2), load("w1", 1, 0, 0.2)] })?.workerId, "w1");
  assert.equal(selector.select({ ...request, candidates: [] }), null);
});

test("selectors least_loaded - on equal requests the binding pressure decides: the fuller of K and V, V on the host only for selective-V workers", () => {
  const selector = new LeastLoadedSelector();
  const base = { runningRequests: 1, waitingRequests: 0, activeBlocks: 0 };
  // w1: K device 0.3, V device 0.6 → 0.6; w2: K device 0.7, V device 0.1 → 0.7.
  const w1: WorkerLoad = { ...base, workerId: "w1", kvUsage: usageOf(0.3, 0.6), selectiveV: false };
  const w2: WorkerLoad = { ...base, workerId: "w2", kvUsage: usageOf(0.7, 0.1), selectiveV: false };
  assert.equal(selector.select({ ...request, candidates: [w2, w1] })?.workerId, "w1");
  // V on the host at 0.9: a plain worker's host tier only keeps evicted prefixes (w1 still 0.6)...
  const w1Host: WorkerLoad = { ...w1, kvUsage: usageOf(0.3, 0.6, 0.9) };
  assert.equal(selector.select({ ...request, candidates: [w2, w1Host] })?.workerId, "w1");
  // ...but on a selective-V worker that is where V lives: 0.9 > 0.7.
  assert.equal(selector.select({ ...request, candidates: [w2, { ...w1Host, selectiveV: true }] })?.workerId, "w2");
});
