import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvEventBody } from "../events/kv-event.js";
import type { KvModelShape } from "../kv-types.js";
import { KvCacheManager, type KvCacheMode } from "./kv-cache-manager.js";
import { poolOf } from "./testing/pool-of.js";

// One layer, n_k 1, n_v 4, head_dim 2, 4 tokens per block: K block 32 bytes, V block 128 bytes.
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 4, head_dim: 2 };
const K = 32;
const V = 128;

function manager(blocks: { kDevice: number; vDevice: number; kHost?: number; vHost?: number }, mode: KvCacheMode = "full", recentWindowBlocks = 1) {
  const events: KvEventBody[] = [];
  const m = new KvCacheManager({
    shape: SHAPE,
    blockSizeTokens: 4,
    modelId: "test-model",
    mode,
    recentWindowBlocks,
    bytes: { k: { device: blocks.kDevice * K, host: (blocks.kHost ?? 0) * K }, v: { device: blocks.vDevice * V, host: (blocks.vHost ?? 0) * V } },
    onEvent: (e) => events.push(e),
  });
  return { m, events };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function run(m: KvCacheManager, id: string, prompt: number[], cacheSalt = "") {
  const admission = m.allocate(id, { promptTokens: prompt, cacheSalt });
  assert.ok(admission, `${id} admitted`);
  m.commitTokens(id, prompt.slice(admission.numCachedTokens));
  return admission;
}

test("kvcache manager - two requests share a prefix without copying it", () => {
  const { m } = manager({ kDevice: 8, vDevice: 8 });
  const a = run(m, "a", range(1, 11)); // 10 tokens: blocks 0, 1 full, 2 partial
  assert.deepEqual(a, { blockIds: [0, 1, 2], numCachedTokens: 0 });
  const b = run(m, "b", [...range(1, 9), 20, 21, 22]); // same first 8 tokens
  assert.deepEqual(b, { blockIds: [0, 1, 3], numCachedTokens: 8 });
  assert.deepEqual([0, 1, 2, 3].map((id) => poolOf(m).refCount(id)), [2, 2, 1, 1]);
});

test("kvcache manager - a freed prefix stays cached in LRU order and is reused", () => {
  const { m } = manager({ kDevice: 8, vDevice: 8 });
  run(m, "a", range(1, 11));
  run(m, "b", [...range(1, 9), 20, 21, 22]);
  m.free("a"); // releases 2 (partial: freed at once), then 1 and 0 (still used by b)
  m.free("b"); // releases 3 (partial), then 1, then 0: the tail is evicted before the head
  assert.deepEqual(poolOf(m).cachedFreeBlocks(), [1, 0]);
  assert.deepEqual(m.usage().map((u) => [u.component, u.usedBlocks, u.cachedFreeBlocks]), [
    ["k", 0, 2],
    ["v", 0, 2],
  ]);
  const c = run(m, "c", [...range(1, 9), 30]);
  assert.deepEqual(c, { blockIds: [0, 1, 3], numCachedTokens: 8 });
  assert.deepEqual(poolOf(m).cachedFreeBlocks(), []);
});

test("kvcache manager - the last prompt token is always computed, even on a full hit", () => {
  const { m } = manager({ kDevice: 8, vDevice: 8 });
  run(m, "a", range(1, 9)); // exactly 2 blocks
  m.free("a");
  const again = run(m, "b", range(1, 9));
  assert.equal(again.numCachedTokens, 4);
  assert.deepEqual(again.blockIds, [0, 2]);
});

test("kvcache manager - a different tenant salt never shares blocks", () => {
  const { m } = manager({ kDevice: 8, vDevice: 8 });
  run(m, "a", range(1, 11), "tenant-a");
  const b = run(m, "b", range(1, 11), "tenant-b");
  assert.deepEqual(b, { blockIds: [3, 4, 5], numCachedTokens: 0 });
  assert.notDeepEqual(m.promptBlockHashes(range(1, 11), "tenant-a"), m.promptBlockHashes(range(1, 11), "tenant-b"));
  const c = run(m, "c", range(1, 11), "tenant-a");
  assert.equal(c.numCachedTokens, 8);
});

test("kvcache manager - full blocks are reported stored with their parent, K and V apart", () => {
  const { m, events } = manager({ kDevice: 8, vDevice: 8 });
  run(m, "a", range(1, 10));
  const [h0, h1] = m.promptBlockHashes(range(1, 10));
  assert.deepEqual(events, [
    { kind: "stored", component: "k", tier: "device", blockHashes: [h0] },
    { kind: "stored", component: "v", tier: "device", blockHashes: [h0] },
    { kind: "stored", component: "k", tier: "device", blockHashes: [h1], parentBlockHash: h0 },
    { kind: "stored", component: "v", tier: "device", blockHashes: [h1], parentBlockHash: h0 },
  ]);
});

test("kvcache manager - no room is null, with nothing held, and works after a free", () => {
  const { m } = manager({ kDevice: 3, vDevice: 3 });
  run(m, "a", range(1, 9)); // 2 blocks
  assert.equal(m.allocate("b", { promptTokens: range(100, 109) }), null); // needs 3
  assert.equal(m.has("b"), false);
  assert.deepEqual(m.usage().map((u) => u.usedBlocks), [2, 2]);
  m.free("a");
  assert.ok(m.allocate("b", { promptTokens: range(100, 109) }));
  assert.deepEqual(poolOf(m).checkInvariants(), []);
});

test("kvcache manager - selective V keeps K on the device and reads old V rows from the host", () => {
  // The device holds 8 K blocks but only 2 V blocks; the host takes the rest of V.
  const { m, events } = manager({ kDevice: 8, vDevice: 2, vHost: 8 }, "selective-v", 1);
  const value = (position: number, head: number, i: number) => position * 100 + head * 10 + i;
  const write = (from: number, to: number) => {
    for (let p = from; p < to; p++) {
      const vRow = Float32Array.from({ length: 8 }, (_, j) => value(p, Math.floor(j / 2), j % 2));
      m.writeTokenKv("r", p, 0, Float32Array.of(p, -p), vRow);
    }
  };
  assert.ok(m.allocate("r", { promptTokens: range(0, 16), numNewTokens: 8 }));
  write(0, 8);
  m.commitTokens("r", range(0, 8));
  // Growing to 16 tokens needs 2 more V blocks on the device: the oldest V (outside the 1-block window) goes to host.
  assert.deepEqual(m.appendSlots("r", 8), [0, 1, 2, 3]);
  write(8, 16);
  m.commitTokens("r", range(8, 16));
  assert.deepEqual([0, 1, 2, 3].map((id) => `${poolOf(m).residency(id, "k")!.tier}/${poolOf(m).residency(id, "v")!.tier}`), [
    "device/host",
    "device/host",
    "device/device",
    "device/device",
  ]);
  assert.ok(events.some((e) => e.kind === "moved" && e.component === "v"));

  const out = new Float32Array(4 * 2);
  m.readVRows("r", 0, 3, [1, 5, 9, 14], out);
  assert.deepEqual(Array.from(out), [value(1, 3, 0), value(1, 3, 1), value(5, 3, 0), value(5, 3, 1), value(9, 3, 0), value(9, 3, 1), value(14, 3, 0), value(14, 3, 1)]);
  // 8 bytes per row (head_dim 2 × f32): positions 1 and 5 from the host, 9 and 14 from the device.
  assert.deepEqual(m.vBytesRead, { device: 16, host: 16 });
});

test("kvcache manager - selective V never demotes a block whose rows are still to be written", () => {
  // Regression (issue 16's capacity bench): a long prompt reserves all its blocks at admission; a second request
  // admitted in the same step demoted the V of one of them before its rows were written, and the step that wrote
  // them failed ("writing v while it is on host") for every request in it.
  const { m } = manager({ kDevice: 8, vDevice: 3, vHost: 8 }, "selective-v", 1);
  assert.deepEqual(m.allocate("a", { promptTokens: range(0, 12) })?.blockIds, [0, 1, 2]);
  // Nothing of a is written: no V may leave the device for b, so b waits (no room is a null) and a is untouched.
  assert.equal(m.allocate("b", { promptTokens: range(100, 104) }), null);
  assert.deepEqual([0, 1, 2].map((id) => poolOf(m).residency(id, "v")!.tier), ["device", "device", "device"]);
  const vRow = new Float32Array(8);
  for (let p = 0; p < 12; p++) m.writeTokenKv("a", p, 0, Float32Array.of(p, -p), vRow);
  m.commitTokens("a", range(0, 12));
  // Written now: a's old blocks (outside its 1-block window) may go to the host, and b fits.
  assert.ok(m.allocate("b", { promptTokens: range(100, 104) }));
  assert.equal(poolOf(m).residency(0, "v")!.tier, "host");
});

test("kvcache manager - full mode never demotes a running request's V", () => {
  const { m } = manager({ kDevice: 8, vDevice: 2, vHost: 8 }, "full");
  assert.ok(m.allocate("r", { promptTokens: range(0, 8) }));
  m.commitTokens("r", range(0, 8));
  assert.equal(m.appendSlots("r", 4), null);
  assert.deepEqual([0, 1].map((id) => poolOf(m).residency(id, "v")!.tier), ["device", "device"]);
});

test("kvcache manager - a snapshot equals the residency the events describe, as of the log's last seq", async () => {
  const { KvEventLog } = await import("../events/kv-event-log.js");
  const log = new KvEventLog({ workerId: "w1", epoch: 7n });
  const m = new KvCacheManager({
    shape: SHAPE,
    blockSizeTokens: 4,
    modelId: "test-model",
    eventLog: log,
    bytes: { k: { device: 8 * K, host: 4 * K }, v: { device: 3 * V, host: 4 * V } },
  });
  run(m, "a", range(1, 10));
  m.free("a");
  run(m, "b", range(50, 59)); // pushes a's cached V to the host
  const snapshot = m.snapshot();
  assert.equal(snapshot.asOfSeq, log.lastSeq);
  // Replay the log into a residency map and compare.
  const replayed = new Map<string, Set<bigint>>();
  for (let batch = log.takeBatch(); batch !== null; batch = log.takeBatch()) {
    for (const e of batch.events) {
      if (e.kind === "stored") for (const h of e.blockHashes) (replayed.get(`${e.component}/${e.tier}`) ?? replayed.set(`${e.component}/${e.tier}`, new Set()).get(`${e.component}/${e.tier}`)!).add(h);
      if (e.kind === "removed") for (const h of e.blockHashes) replayed.get(`${e.component}/${e.tier}`)?.delete(h);
      if (e.kind === "moved") for (const h of e.blockHashes) {
        replayed.get(`${e.component}/${e.fromTier}`)?.delete(h);
        (replayed.get(`${e.component}/${e.toTier}`) ?? replayed.set(`${e.component}/${e.toTier}`, new Set()).get(`${e.component}/${e.toTier}`)!).add(h);
      }
    }
  }
  const fromSnapshot = Object.fromEntries(snapshot.residency.map((g) => [`${g.component}/${g.tier}`, [...g.blockHashes].sort()]));
  const fromEvents = Object.fromEntries([...replayed].filter(([, set]) => set.size > 0).map(([key, set]) => [key, [...set].sort()]));
  assert.deepEqual(fromSnapshot, fromEvents);
  assert.ok(Object.keys(fromSnapshot).includes("v/host"), "the scenario moved some V to the host");
});
