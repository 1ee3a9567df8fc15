import assert from "node:assert/strict";
import { test } from "node:test";
import { KvEventBatchError } from "@sigmaserve/kvcache/events";
import { KvIndex } from "./kv-index.js";
import { batchOf, snapshotOf, storedKv } from "./testing/fixtures.js";

const EPOCH = 7n;
const H1 = 0x11n;
const H2 = 0x22n;
const H3 = 0x33n;

test("kv-index - stored, moved and removed events change residency per component and tier", () => {
  const index = new KvIndex();
  assert.equal(index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1, H2, H3]))), null);
  assert.equal(
    index.applyBatch(
      batchOf("w1", EPOCH, 3, [
        { kind: "moved", component: "v", fromTier: "device", toTier: "host", blockHashes: [H2, H3] },
        { kind: "moved", component: "k", fromTier: "device", toTier: "host", blockHashes: [H3] },
        { kind: "removed", component: "k", tier: "device", blockHashes: [H1] },
        { kind: "removed", component: "v", tier: "device", blockHashes: [H1] },
      ]),
    ),
    null,
  );
  assert.deepEqual(index.residency("w1"), [
    { component: "k", tier: "device", blockHashes: [H2] },
    { component: "k", tier: "host", blockHashes: [H3] },
    { component: "v", tier: "host", blockHashes: [H2, H3] },
  ]);
  assert.deepEqual(index.stats().perWorker[0], {
    workerId: "w1",
    blocks: { k: { device: 1, host: 1 }, v: { device: 0, host: 2 } },
    speculativeBlocks: 0,
    sync: { epoch: EPOCH, appliedSeq: 6, resyncPending: null },
  });
});

test("kv-index - removed and moved naming the wrong tier change nothing (one tier per half, as the pool keeps it)", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  index.applyBatch(
    batchOf("w1", EPOCH, 3, [
      { kind: "removed", component: "k", tier: "host", blockHashes: [H1] },
      { kind: "moved", component: "v", fromTier: "host", toTier: "device", blockHashes: [H1] },
      { kind: "removed", component: "v", tier: "device", blockHashes: [H2] },
      { kind: "stored", component: "v", tier: "host", blockHashes: [H1] },
    ]),
  );
  assert.deepEqual(index.residency("w1"), [
    { component: "k", tier: "device", blockHashes: [H1] },
    { component: "v", tier: "host", blockHashes: [H1] },
  ]);
});

test("kv-index - cleared drops every block of that worker and no other", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1, H2])));
  index.applyBatch(batchOf("w2", EPOCH, 1, storedKv([H1])));
  index.applyBatch(batchOf("w1", EPOCH, 3, [{ kind: "cleared" }, ...storedKv([H3])]));
  assert.deepEqual(index.residency("w1"), [
    { component: "k", tier: "device", blockHashes: [H3] },
    { component: "v", tier: "device", blockHashes: [H3] },
  ]);
  assert.deepEqual([...index.overlap([H1]).keys()], ["w2"]);
  assert.equal(index.stats().distinctBlockHashes, 2);
});

test("kv-index - a duplicate batch is ignored and an overlapping one applies only its new tail", () => {
  const index = new KvIndex();
  const first = batchOf("w1", EPOCH, 1, [
    { kind: "stored", component: "k", tier: "device", blockHashes: [H1] },
    { kind: "removed", component: "k", tier: "device", blockHashes: [H1] },
  ]);
  index.applyBatch(first);
  // Replaying seq 1 would resurrect H1 if it were applied again.
  assert.equal(index.applyBatch(first), null);
  assert.deepEqual(index.residency("w1"), []);
  const overlapping = batchOf("w1", EPOCH, 1, [
    { kind: "stored", component: "k", tier: "device", blockHashes: [H1] },
    { kind: "removed", component: "k", tier: "device", blockHashes: [H1] },
    { kind: "stored", component: "k", tier: "host", blockHashes: [H2] },
  ]);
  assert.equal(index.applyBatch(overlapping), null);
  assert.deepEqual(index.residency("w1"), [{ component: "k", tier: "host", blockHashes: [H2] }]);
  assert.equal(index.stats().perWorker[0]?.sync?.appliedSeq, 3);
});

test("kv-index - a gap returns a resync, keeps the old state, and the snapshot then replaces it", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  const gap = batchOf("w1", EPOCH, 5, storedKv([H3]));
  assert.deepEqual(index.applyBatch(gap), { workerId: "w1", reason: "gap", expectedSeq: 3 });
  // The state stays exact as of seq 2 while the snapshot is awaited; later batches repeat the request.
  assert.deepEqual(index.overlap([H1]).get("w1")?.matchedBlocks, 1);
  assert.deepEqual(index.applyBatch(batchOf("w1", EPOCH, 7, storedKv([H2]))), { workerId: "w1", reason: "gap", expectedSeq: 3 });
  assert.deepEqual(
    index.applySnapshot(snapshotOf("w1", EPOCH, 8, [
      { component: "k", tier: "device", blockHashes: [H2, H3] },
      { component: "v", tier: "host", blockHashes: [H2, H3] },
    ])),
    { action: "apply" },
  );
  assert.deepEqual(index.residency("w1"), [
    { component: "k", tier: "device", blockHashes: [H2, H3] },
    { component: "v", tier: "host", blockHashes: [H2, H3] },
  ]);
  assert.equal(index.applyBatch(batchOf("w1", EPOCH, 9, [{ kind: "removed", component: "k", tier: "device", blockHashes: [H3] }])), null);
  assert.deepEqual(index.residency("w1")[0], { component: "k", tier: "device", blockHashes: [H2] });
});

test("kv-index - a new epoch drops the worker's old state at once and asks for a snapshot", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1, H2])));
  index.applyBatch(batchOf("w2", EPOCH, 1, storedKv([H1])));
  assert.deepEqual(index.applyBatch(batchOf("w1", 8n, 1, storedKv([H3]))), { workerId: "w1", reason: "new-epoch", expectedSeq: 1 });
  assert.deepEqual(index.residency("w1"), []);
  assert.deepEqual([...index.overlap([H1, H2]).keys()], ["w2"]);
  // A late batch of the dead process changes nothing.
  assert.equal(index.applyBatch(batchOf("w1", EPOCH, 3, storedKv([H2]))), null);
  assert.deepEqual(index.residency("w1"), []);
  index.applySnapshot(snapshotOf("w1", 8n, 2, [{ component: "k", tier: "device", blockHashes: [H3] }]));
  assert.deepEqual(index.residency("w1"), [{ component: "k", tier: "device", blockHashes: [H3] }]);
});

test("kv-index - a heartbeat announcing a seq that never arrives asks for a resync (tail loss); one with a new epoch drops the state", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  assert.equal(index.heartbeat("w1", EPOCH, 2), null);
  assert.equal(index.heartbeat("w1", EPOCH, 4), null); // grace: the batch may still be on its way
  assert.deepEqual(index.heartbeat("w1", EPOCH, 4), { workerId: "w1", reason: "gap", expectedSeq: 3 });
  assert.equal(index.residency("w1").length, 2);
  assert.deepEqual(index.heartbeat("w1", 9n, 0), { workerId: "w1", reason: "new-epoch", expectedSeq: 1 });
  assert.deepEqual(index.residency("w1"), []);
});

test("kv-index - a snapshot older than what is applied is ignored", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  assert.deepEqual(index.applySnapshot(snapshotOf("w1", EPOCH, 1, [])), { action: "ignore", reason: "outdated" });
  assert.equal(index.residency("w1").length, 2);
});

test("kv-index - removeWorker forgets blocks, claims and cursor", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  index.applyBatch(batchOf("w2", EPOCH, 1, storedKv([H1])));
  index.speculate("w1", [H2], 2_000, 0);
  assert.equal(index.removeWorker("w1"), true);
  assert.equal(index.removeWorker("w1"), false);
  assert.deepEqual([...index.overlap([H1], { nowMs: 1 }).keys()], ["w2"]);
  assert.equal(index.overlap([H2], { nowMs: 1 }).size, 0);
  assert.deepEqual(index.workerIds(), ["w2"]);
  // Its events start over as a fresh worker: seq 1 applies without a snapshot.
  assert.equal(index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H3]))), null);
  assert.deepEqual(index.stats().perWorker.map((w) => [w.workerId, w.blocks.k.device]), [["w1", 1], ["w2", 1]]);
});

test("kv-index - a malformed batch throws before changing anything, and its loss shows up as a gap", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  const bad = batchOf("w1", EPOCH, 3, storedKv([H2]));
  bad.events[1] = { ...bad.events[1]!, seq: 9 };
  assert.throws(() => index.applyBatch(bad), KvEventBatchError);
  assert.equal(index.residency("w1").length, 2);
  assert.deepEqual(index.applyBatch(batchOf("w1", EPOCH, 5, storedKv([H3]))), { workerId: "w1", reason: "gap", expectedSeq: 3 });
});

test("kv-index - stats count workers and blocks per component and tier, sorted by worker id", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w2", EPOCH, 1, storedKv([H1, H2], "device", "host")));
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([H1])));
  index.speculate("w3", [H1, H2, H3], 2_000, 100);
  const stats = index.stats(1_000);
  assert.equal(stats.workers, 3);
  assert.equal(stats.distinctBlockHashes, 3);
  assert.deepEqual(
    stats.perWorker.map((w) => [w.workerId, w.blocks, w.speculativeBlocks, w.sync?.appliedSeq ?? null]),
    [
      ["w1", { k: { device: 1, host: 0 }, v: { device: 1, host: 0 } }, 0, 2],
      ["w2", { k: { device: 2, host: 0 }, v: { device: 0, host: 2 } }, 0, 2],
      ["w3", { k: { device: 0, host: 0 }, v: { device: 0, host: 0 } }, 3, null],
    ],
  );
  assert.equal(index.stats(2_100).perWorker[2]?.speculativeBlocks, 0);
});
