import assert from "node:assert/strict";
import { test } from "node:test";
import { seededRandom, usageOf } from "../testing/fixtures.js";
import type { WorkerOverlap } from "../kv-index-types.js";
import { createWorkerSelector } from "./create-worker-selector.js";
import { KvAwareSelector } from "./kv-aware-selector.js";
import type { WorkerLoad } from "./worker-selector.js";

const BLOCK_SIZE = 16;

/** Half-full pools: below the pressure knee, so pressure costs nothing. */
function load(workerId: string, activeBlocks: number, waitingBlocks = 0): WorkerLoad {
  return { workerId, runningRequests: 1, waitingRequests: 0, activeBlocks, waitingBlocks, kvUsage: usageOf(0.5, 0.5, 0.5), selectiveV: false };
}

/** `kDeviceVHostBlocks` of the host hits have K on the device and V on the host. */
function hits(deviceBlocks: number, hostBlocks = 0, kDeviceVHostBlocks = 0): WorkerOverlap {
  return { matchedBlocks: deviceBlocks + hostBlocks, deviceBlocks, hostBlocks, kDeviceVHostBlocks, speculativeBlocks: 0 };
}

/** [workerId, cost, eligible] per candidate. */
function summary(selection: ReturnType<KvAwareSelector["select"]>) {
  return selection?.costs.map((line) => [line.workerId, line.cost, line.eligible]);
}

// A 2048-token prompt: 128 blocks; w1 holds all of it on the device.
const LONG = { requestTokens: 2048, blockSizeTokens: BLOCK_SIZE, overlap: new Map([["w1", hits(128)]]) };

test("selectors kv_aware - prefers the worker holding the prefix when its load is within the slack", () => {
  const selection = new KvAwareSelector().select({ ...LONG, candidates: [load("w1", 40), load("w2", 0), load("w3", 10)] });
  assert.equal(selection?.workerId, "w1");
  assert.deepEqual(summary(selection), [
    ["w1", 40, true], // 1 · (128 − 128) + 40
    ["w2", 128, true], // 1 · 128 + 0
    ["w3", 138, true], // 1 · 128 + 10
  ]);
  assert.deepEqual(selection?.costs[0], {
    workerId: "w1",
    cost: 40,
    eligible: true,
    probability: 1,
    matchedBlocks: 128,
    deviceHitBlocks: 128,
    hostHitBlocks: 0,
    prefillBlocks: 0,
    prefillCost: 0,
    decodeBlocks: 40,
    kPressure: 0.5,
    vPressure: 0.5,
    pressureCost: 0,
  });
});

test("selectors kv_aware - does NOT pick the prefix holder once it is loaded beyond the slack (no death spiral)", () => {
  // w1 would still win on cost (100 < 128) but its load, 100 blocks, is past 0 + max(64, 0.25 · 0).
  const selection = new KvAwareSelector().select({ ...LONG, candidates: [load("w1", 60, 40), load("w2", 0), load("w3", 10)] });
  assert.equal(selection?.workerId, "w2");
  assert.deepEqual(summary(selection), [
    ["w1", 100, false],
    ["w2", 128, true],
    ["w3", 138, true],
  ]);
  // A wider slack lets the affinity win again.
  assert.equal(new KvAwareSelector({ loadSlackBlocks: 100 }).select({ ...LONG, candidates: [load("w1", 60, 40), load("w2", 0)] })?.workerId, "w1");
});

test("selectors kv_aware - at high load the slack is relative: within 25 % of the least loaded worker", () => {
  const selector = new KvAwareSelector();
  // min load 400 → window 400 + max(64, 100) = 500.
  assert.deepEqual(summary(selector.select({ ...LONG, candidates: [load("w1", 500), load("w2", 400)] })), [
    ["w1", 500, true],
    ["w2", 528, true],
  ]);
  assert.deepEqual(summary(selector.select({ ...LONG, candidates: [load("w1", 501), load("w2", 400)] })), [
    ["w1", 501, false],
    ["w2", 528, true],
  ]);
});

test("selectors kv_aware - a host hit costs a fraction of a prefill block (default 0.1)", () => {
  // 10 blocks; w1 holds 8 on the device, w2 holds 8 with V on the host, w3 nothing.
  const request = {
    requestTokens: 160,
    blockSizeTokens: BLOCK_SIZE,
    overlap: new Map([["w1", hits(8)], ["w2", hits(0, 8)]]),
    candidates: [load("w1", 1), load("w2", 0), load("w3", 0)],
  };
  const byDefault = new KvAwareSelector().select(request);
  assert.equal(byDefault?.workerId, "w2");
  assert.deepEqual(summary(byDefault), [
    ["w1", 3, true], // 2 prefill + 1 load
    ["w2", 2.8, true], // 2 prefill + 0.1 · 8 host hits
    ["w3", 10, true],
  ]);
  const dearHost = new KvAwareSelector({ hostHitCostRatio: 0.25 }).select(request);
  assert.equal(dearHost?.workerId, "w1");
  assert.deepEqual(summary(dearHost)?.[1], ["w2", 4, true]); // 2 + 0.25 · 8
  assert.deepEqual(
    [dearHost?.costs[1]?.hostHitBlocks, dearHost?.costs[1]?.deviceHitBlocks, dearHost?.costs[1]?.prefillCost],
    [8, 0, 4],
  );
});

test("selectors kv_aware - prefill counts in fractional blocks, weighted by overlapWeight; overlap is capped by the request", () => {
  const request = {
    requestTokens: 136, // 8.5 blocks
    blockSizeTokens: BLOCK_SIZE,
    overlap: new Map([["w1", hits(12)]]), // a longer hash list than the prompt: only 8.5 can count
    candidates: [load("w1", 3), load("w2", 0)],
  };
  assert.deepEqual(summary(new KvAwareSelector({ overlapWeight: 2 }).select(request)), [
    ["w1", 3, true], // 2 · 0 + 3
    ["w2", 17, true], // 2 · 8.5 + 0
  ]);
  const lines = new KvAwareSelector({ overlapWeight: 0 }).select(request);
  assert.deepEqual(summary(lines), [
    ["w1", 3, true],
    ["w2", 0, true],
  ]);
  assert.equal(lines?.costs[0]?.matchedBlocks, 8.5);
});

test("selectors kv_aware - temperature 0 breaks equal costs by worker id", () => {
  const selection = new KvAwareSelector().select({ requestTokens: 64, blockSizeTokens: BLOCK_SIZE, candidates: [load("wb", 5), load("wa", 5), load("wc", 6)] });
  assert.equal(selection?.workerId, "wa");
  assert.deepEqual(
    selection?.costs.map((line) => line.probability),
    [1, 0, 0],
  );
});

test("selectors kv_aware - temperature samples a softmax of the rescaled costs with the injected random", () => {
  // Costs 8, 12, 10 (4 + load) → rescaled 0, 1, 0.5 → weights 1, e^-1, e^-0.5 at T = 1.
  const request = {
    requestTokens: 64,
    blockSizeTokens: BLOCK_SIZE,
    candidates: [load("w1", 4), load("w2", 8), load("w3", 6)],
  };
  const total = 1 + Math.exp(-1) + Math.exp(-0.5);
  const expected = [1 / total, Math.exp(-1) / total, Math.exp(-0.5) / total];
  const pick = (r: number) => new KvAwareSelector({ temperature: 1, random: () => r }).select(request);
  assert.deepEqual(pick(0)?.costs.map((line) => line.probability), expected);
  assert.deepEqual([pick(0)?.workerId, pick(0.6)?.workerId, pick(0.99)?.workerId], ["w1", "w2", "w3"]);

  const seeded = new KvAwareSelector({ temperature: 1, random: seededRandom(42) });
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const workerId = seeded.select(request)?.workerId ?? "none";
    counts.set(workerId, (counts.get(workerId) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), SEEDED_COUNTS);
  expected.forEach((p, i) => assert.ok(Math.abs((counts.get(`w${i + 1}`) ?? 0) / 10_000 - p) < 0.02));
});

test("selectors kv_aware - temperature samples only inside the load window", () => {
  const selector = new KvAwareSelector({ temperature: 5, random: () => 0.999 });
  const selection = selector.select({ ...LONG, candidates: [load("w1", 0), load("w2", 200)] });
  assert.equal(selection?.workerId, "w1");
  assert.deepEqual(selection?.costs.map((line) => [line.eligible, line.probability]), [
    [true, 1],
    [false, 0],
  ]);
});

test("selectors kv_aware - options are checked once and name the field; requests are checked per call", () => {
  assert.throws(() => new KvAwareSelector({ hostHitCostRatio: 1.5 }), { name: "WorkerSelectorConfigError", field: "hostHitCostRatio" });
  assert.throws(() => new KvAwareSelector({ pressureKnee: 1.5 }), { name: "WorkerSelectorConfigError", field: "pressureKnee" });
  assert.throws(() => new KvAwareSelector({ temperature: -1 }), { name: "WorkerSelectorConfigError", field: "temperature" });
  assert.throws(() => new KvAwareSelector({ loadSlackBlocks: Number.POSITIVE_INFINITY }), { name: "WorkerSelectorConfigError", field: "loadSlackBlocks" });
  assert.throws(() => createWorkerSelector("random" as never), { name: "WorkerSelectorConfigError", field: "policy" });
  assert.equal(createWorkerSelector().policy, "kv_aware");
  const selector = new KvAwareSelector();
  assert.throws(() => selector.select({ requestTokens: 64, blockSizeTokens: 0, candidates: [] }), { name: "KvIndexArgumentError", argument: "blockSizeTokens" });
  assert.throws(() => selector.select({ requestTokens: 64, blockSizeTokens: 16, candidates: [load("w1", 0), load("w1", 1)] }), {
    name: "KvIndexArgumentError",
    argument: "candidates[1].workerId",
  });
  assert.throws(() => selector.select({ requestTokens: 64, blockSizeTokens: 16, candidates: [load("w1", -1)] }), {
    name: "KvIndexArgumentError",
    argument: "candidates[0].activeBlocks",
  });
  assert.throws(() => selector.select({ requestTokens: 64, blockSizeTokens: 16, candidates: [{ ...load("w1", 0), kvUsage: usageOf(0.5, 1.2) }] }), {
    name: "KvIndexArgumentError",
    argument: "candidates[0].kvUsage.v.device",
  });
  assert.equal(selector.select({ requestTokens: 64, blockSizeTokens: 16, candidates: [] }), null);
});

/** What mulberry32(42) draws over 10 000 picks (expected 5065 / 1863 / 3072). */
const SEEDED_COUNTS = { w1: 5082, w2: 1900, w3: 3018 };

// The whole 128-block prefix on both workers with K on the device and V on the host: the
// selective-V state. Same load (40 blocks); the workers differ only in how full their pools are.
const HELD_WITH_V_ON_HOST = { requestTokens: 2048, blockSizeTokens: BLOCK_SIZE, overlap: new Map([["w1", hits(0, 128, 128)], ["w2", hits(0, 128, 128)]]) };

function pools(workerId: string, kvUsage: WorkerLoad["kvUsage"], selectiveV: boolean): WorkerLoad {
  return { ...load(workerId, 40), kvUsage, selectiveV };
}

test("selectors kv_aware - on selective-V workers V on the host counts as held; elsewhere it is a host hit to promote", () => {
  const selection = new KvAwareSelector().select({ ...HELD_WITH_V_ON_HOST, candidates: [pools("w1", usageOf(0.5, 0.5), false), pools("w2", usageOf(0.5, 0.5), true)] });
  assert.equal(selection?.workerId, "w2");
  assert.deepEqual(
    selection?.costs.map((line) => [line.workerId, line.deviceHitBlocks, line.hostHitBlocks, line.cost]),
    [
      ["w1", 0, 128, 52.8], // 0.1 · 128 promotions + 40
      ["w2", 128, 0, 40],
    ],
  );
});

test("selectors kv_aware - two selective-V workers that differ only in V host pressure: the choice follows it", () => {
  // w1's host V is 87.5 % pinned: excess (0.875 − 0.75) / 0.25 = 0.5 of the request's 128 blocks.
  const candidates = [pools("w1", usageOf(0.5, 0.5, 0.875), true), pools("w2", usageOf(0.5, 0.5, 0.5), true)];
  const selection = new KvAwareSelector().select({ ...HELD_WITH_V_ON_HOST, candidates });
  assert.equal(selection?.workerId, "w2");
  assert.deepEqual(
    selection?.costs.map((line) => [line.workerId, line.kPressure, line.vPressure, line.pressureCost, line.cost]),
    [
      ["w1", 0.5, 0.875, 64, 104],
      ["w2", 0.5, 0.5, 0, 40],
    ],
  );
  // The same host usage on plain workers is only their offload tier: no pressure, the tie goes to w1.
  const plain = candidates.map((c) => ({ ...c, selectiveV: false }));
  assert.deepEqual(
    new KvAwareSelector().select({ ...HELD_WITH_V_ON_HOST, candidates: plain })?.costs.map((line) => [line.workerId, line.vPressure, line.cost]),
    [
      ["w1", 0.5, 52.8],
      ["w2", 0.5, 52.8],
    ],
  );
  // pressureWeight 0 turns the term off.
  assert.equal(new KvAwareSelector({ pressureWeight: 0 }).select({ ...HELD_WITH_V_ON_HOST, candidates })?.workerId, "w1");
});

test("selectors kv_aware - two workers that differ only in K device pressure: the choice follows it", () => {
  // Both hold the prefix on the device; w1's K pool is 93.75 % pinned: excess 0.75 of 128 blocks.
  const request = { ...LONG, overlap: new Map([["w1", hits(128)], ["w2", hits(128)]]) };
  const selection = new KvAwareSelector().select({ ...request, candidates: [pools("w1", usageOf(0.9375, 0.5), false), pools("w2", usageOf(0.6, 0.5), false)] });
  assert.equal(selection?.workerId, "w2");
  assert.deepEqual(
    selection?.costs.map((line) => [line.workerId, line.kPressure, line.vPressure, line.pressureCost, line.cost]),
    [
      ["w1", 0.9375, 0.5, 96, 136],
      ["w2", 0.6, 0.5, 0, 40],
    ],
  );
  // Pressure below the knee is free: at 0.7 the tie goes back to w1.
  assert.equal(new KvAwareSelector().select({ ...request, candidates: [pools("w1", usageOf(0.7, 0.5), false), pools("w2", usageOf(0.6, 0.5), false)] })?.workerId, "w1");
});

test("selectors kv_aware - one selector reused across decisions picks exactly as a fresh one when the candidate list repeats, reorders, shrinks or renames", () => {
  const reused = new KvAwareSelector();
  const overlap = new Map([
    ["w3", hits(100)],
    ["w1", hits(20, 10)],
  ]);
  const lists: WorkerLoad[][] = [
    [load("w3", 90), load("w1", 0), load("w2", 10)],
    [load("w3", 90), load("w1", 0), load("w2", 10)], // the same ids in the same order: the remembered order is used
    [load("w3", 0), load("w1", 90), load("w2", 10)], // same ids, new loads
    [load("w2", 10), load("w3", 0), load("w1", 90)], // reordered
    [load("w2", 10), load("w3", 0)], // shrunk
    [load("w2", 10), load("w4", 0)], // renamed
  ];
  for (const candidates of lists) {
    const request = { candidates, overlap, requestTokens: 2048, blockSizeTokens: BLOCK_SIZE };
    assert.deepEqual(reused.select(request), new KvAwareSelector().select(request));
  }
  // A duplicate id is still refused after a list of the same length was remembered.
  assert.throws(() => reused.select({ candidates: [load("w2", 1), load("w2", 1)], overlap, requestTokens: 16, blockSizeTokens: BLOCK_SIZE }), /listed twice/);
});
