import assert from "node:assert/strict";
import { test } from "node:test";
import { IDLE_POOLS } from "../testing/fixtures.js";
import { RoundRobinSelector } from "./round-robin-selector.js";
import type { WorkerLoad } from "./worker-selector.js";

function load(workerId: string): WorkerLoad {
  return { workerId, runningRequests: 0, waitingRequests: 0, activeBlocks: 0, ...IDLE_POOLS };
}

const request = { requestTokens: 64, blockSizeTokens: 16 };

test("selectors round_robin - cycles through the candidates in worker-id order", () => {
  const selector = new RoundRobinSelector();
  const candidates = [load("w3"), load("w1"), load("w2")];
  const picks = Array.from({ length: 4 }, () => selector.select({ ...request, candidates })?.workerId);
  assert.deepEqual(picks, ["w1", "w2", "w3", "w1"]);
  // The breakdown shows the rotation: turns until each worker's go.
  assert.deepEqual(selector.select({ ...request, candidates })?.costs, [
    { workerId: "w1", cost: 2, eligible: true, probability: 0 },
    { workerId: "w2", cost: 0, eligible: true, probability: 1 },
    { workerId: "w3", cost: 1, eligible: true, probability: 0 },
  ]);
});

test("selectors round_robin - keeps counting when the candidate set shrinks, and has nothing to pick from none", () => {
  const selector = new RoundRobinSelector();
  selector.select({ ...request, candidates: [load("a"), load("b"), load("c")] });
  selector.select({ ...request, candidates: [load("a"), load("b"), load("c")] });
  assert.equal(selector.select({ ...request, candidates: [load("a"), load("c")] })?.workerId, "a"); // call 3: 2 mod 2
  assert.equal(selector.select({ ...request, candidates: [load("a"), load("c")] })?.workerId, "c");
  assert.equal(selector.select({ ...request, candidates: [] }), null);
});
