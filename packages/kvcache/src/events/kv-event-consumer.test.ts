import assert from "node:assert/strict";
import { test } from "node:test";
import { buildSnapshot } from "./build-snapshot.js";
import type { KvEvent, KvEventBatch } from "./kv-event.js";
import { KvEventConsumer } from "./kv-event-consumer.js";

const EPOCH = 100n;

/** Events seq first … last: stored k/device of hash = seq. */
function events(first: number, last: number): KvEvent[] {
  const out: KvEvent[] = [];
  for (let seq = first; seq <= last; seq++) out.push({ kind: "stored", seq, component: "k", tier: "device", blockHashes: [BigInt(seq)] });
  return out;
}

function batch(first: number, last: number, epoch = EPOCH, workerId = "w1"): KvEventBatch {
  return { workerId, epoch, firstSeq: first, events: events(first, last) };
}

function snapshotAt(asOfSeq: number, epoch = EPOCH) {
  return buildSnapshot("w1", epoch, asOfSeq, []);
}

test("kvcache events - consumer applies batches that continue the cursor, in order", () => {
  const consumer = new KvEventConsumer();
  assert.deepEqual(consumer.accept(batch(1, 2)), { action: "apply", events: events(1, 2) });
  assert.deepEqual(consumer.accept(batch(3, 5)), { action: "apply", events: events(3, 5) });
  assert.deepEqual(consumer.cursor("w1"), { epoch: EPOCH, appliedSeq: 5, resyncPending: null });
});

test("kvcache events - a worker first seen past seq 1 needs a snapshot (gap from the empty start)", () => {
  const consumer = new KvEventConsumer();
  assert.deepEqual(consumer.accept(batch(4, 6)), { action: "resync", reason: "gap", expectedSeq: 1 });
  assert.deepEqual(consumer.applySnapshot(snapshotAt(6)), { action: "apply" });
  assert.deepEqual(consumer.accept(batch(7, 7)), { action: "apply", events: events(7, 7) });
});

test("kvcache events - a duplicate batch is ignored", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.accept(batch(1, 3)), { action: "ignore", reason: "duplicate" });
  assert.deepEqual(consumer.accept(batch(2, 2)), { action: "ignore", reason: "duplicate" });
  assert.equal(consumer.cursor("w1")?.appliedSeq, 3);
});

test("kvcache events - a batch overlapping what was applied yields only its new tail", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.accept(batch(2, 6)), { action: "apply", events: events(4, 6) });
  assert.equal(consumer.cursor("w1")?.appliedSeq, 6);
});

test("kvcache events - a gap asks for a snapshot, and every batch repeats the ask until it comes", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.accept(batch(6, 7)), { action: "resync", reason: "gap", expectedSeq: 4 });
  assert.deepEqual(consumer.cursor("w1"), { epoch: EPOCH, appliedSeq: 3, resyncPending: "gap" });
  // Even the missing batch arriving late does not end the resync: 6–7 were refused.
  assert.deepEqual(consumer.accept(batch(4, 5)), { action: "resync", reason: "gap", expectedSeq: 4 });
});

test("kvcache events - after applySnapshot batches continue from asOfSeq + 1 and events up to it are skipped", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  consumer.accept(batch(6, 7));
  assert.deepEqual(consumer.applySnapshot(snapshotAt(8)), { action: "apply" });
  assert.deepEqual(consumer.cursor("w1"), { epoch: EPOCH, appliedSeq: 8, resyncPending: null });
  assert.deepEqual(consumer.accept(batch(6, 8)), { action: "ignore", reason: "duplicate" });
  assert.deepEqual(consumer.accept(batch(7, 10)), { action: "apply", events: events(9, 10) });
});

test("kvcache events - a snapshot older than the applied seq is ignored when in sync", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 5));
  assert.deepEqual(consumer.applySnapshot(snapshotAt(4)), { action: "ignore", reason: "outdated" });
  assert.deepEqual(consumer.applySnapshot(snapshotAt(5)), { action: "apply" });
  assert.equal(consumer.cursor("w1")?.appliedSeq, 5);
});

test("kvcache events - a pending resync takes a snapshot of its epoch even if older than the applied seq", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 5));
  consumer.accept(batch(9, 9));
  assert.deepEqual(consumer.applySnapshot(snapshotAt(4)), { action: "apply" });
  assert.deepEqual(consumer.cursor("w1"), { epoch: EPOCH, appliedSeq: 4, resyncPending: null });
});

test("kvcache events - a new epoch in a batch asks to drop everything and resync; the old epoch is then stale", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 5));
  assert.deepEqual(consumer.accept(batch(1, 2, 200n)), { action: "resync", reason: "new-epoch", expectedSeq: 1 });
  assert.deepEqual(consumer.cursor("w1"), { epoch: 200n, appliedSeq: 0, resyncPending: "new-epoch" });
  assert.deepEqual(consumer.accept(batch(3, 3, 200n)), { action: "resync", reason: "new-epoch", expectedSeq: 1 });
  assert.deepEqual(consumer.accept(batch(6, 6, EPOCH)), { action: "ignore", reason: "stale-epoch" });
  assert.deepEqual(consumer.applySnapshot(snapshotAt(9, EPOCH)), { action: "ignore", reason: "stale-epoch" });
  assert.deepEqual(consumer.applySnapshot(snapshotAt(3, 200n)), { action: "apply" });
  assert.deepEqual(consumer.accept(batch(4, 4, 200n)), { action: "apply", events: events(4, 4) });
});

test("kvcache events - a snapshot of an epoch never seen is taken as a restart and replaces the state", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 5));
  assert.deepEqual(consumer.applySnapshot(snapshotAt(2, 300n)), { action: "apply" });
  assert.deepEqual(consumer.cursor("w1"), { epoch: 300n, appliedSeq: 2, resyncPending: null });
  assert.deepEqual(consumer.accept(batch(6, 6)), { action: "ignore", reason: "stale-epoch" });
});

test("kvcache events - a heartbeat ahead of the cursor past its grace reveals a lost tail", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 3), { action: "ok" });
  // Seq 5 is announced; its batch may still be on the way, so one heartbeat of grace.
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "ok" });
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "resync", reason: "gap", expectedSeq: 4 });
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "resync", reason: "gap", expectedSeq: 4 });
  consumer.applySnapshot(snapshotAt(5));
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "ok" });
});

test("kvcache events - a batch that arrives within the heartbeat grace avoids the resync", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "ok" });
  consumer.accept(batch(4, 5));
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "ok" });
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 5), { action: "ok" });
});

test("kvcache events - with no grace the first heartbeat ahead of the cursor resyncs", () => {
  const consumer = new KvEventConsumer({ tailLossGraceHeartbeats: 0 });
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 3), { action: "ok" });
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 4), { action: "resync", reason: "gap", expectedSeq: 4 });
});

test("kvcache events - a heartbeat of another epoch is authoritative, even a retired one", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 3));
  assert.deepEqual(consumer.heartbeat("w1", 200n, 0), { action: "resync", reason: "new-epoch", expectedSeq: 1 });
  consumer.applySnapshot(snapshotAt(0, 200n));
  // The registry says the worker is back on EPOCH: believe it over the retired list.
  assert.deepEqual(consumer.heartbeat("w1", EPOCH, 3), { action: "resync", reason: "new-epoch", expectedSeq: 1 });
  assert.deepEqual(consumer.accept(batch(1, 1, 200n)), { action: "ignore", reason: "stale-epoch" });
});

test("kvcache events - a heartbeat first seen at seq 0 starts tracking the empty state", () => {
  const consumer = new KvEventConsumer();
  assert.deepEqual(consumer.heartbeat("w2", 5n, 0), { action: "ok" });
  assert.deepEqual(consumer.cursor("w2"), { epoch: 5n, appliedSeq: 0, resyncPending: null });
  assert.deepEqual(consumer.accept(batch(1, 1, 5n, "w2")), { action: "apply", events: events(1, 1) });
});

test("kvcache events - a cleared event passes through in the apply list like any other", () => {
  const consumer = new KvEventConsumer();
  const cleared: KvEventBatch = { workerId: "w1", epoch: EPOCH, firstSeq: 1, events: [...events(1, 1), { kind: "cleared", seq: 2 }] };
  assert.deepEqual(consumer.accept(cleared), { action: "apply", events: cleared.events });
});

test("kvcache events - forget drops a worker's cursor and retired epochs", () => {
  const consumer = new KvEventConsumer();
  consumer.accept(batch(1, 1, EPOCH, "w1"));
  consumer.accept(batch(1, 1, EPOCH, "w2"));
  assert.deepEqual(consumer.workerIds(), ["w1", "w2"]);
  assert.equal(consumer.forget("w1"), true);
  assert.equal(consumer.forget("w1"), false);
  assert.deepEqual(consumer.workerIds(), ["w2"]);
  assert.equal(consumer.cursor("w1"), undefined);
});

test("kvcache events - only the last maxRetiredEpochs epochs are recognised as stale", () => {
  const consumer = new KvEventConsumer({ maxRetiredEpochs: 2 });
  consumer.accept(batch(1, 1, 1n));
  for (const epoch of [2n, 3n, 4n]) consumer.heartbeat("w1", epoch, 0);
  assert.deepEqual(consumer.accept(batch(1, 1, 3n)), { action: "ignore", reason: "stale-epoch" });
  assert.deepEqual(consumer.accept(batch(1, 1, 2n)), { action: "ignore", reason: "stale-epoch" });
  // Epoch 1 was forgotten: its late batch looks like a restart.
  assert.deepEqual(consumer.accept(batch(1, 1, 1n)), { action: "resync", reason: "new-epoch", expectedSeq: 1 });
});

test("kvcache events - malformed batches and snapshots throw typed errors", () => {
  const consumer = new KvEventConsumer();
  assert.throws(() => consumer.accept({ workerId: "w1", epoch: EPOCH, firstSeq: 1, events: [] }), {
    name: "KvEventBatchError",
    workerId: "w1",
    message: 'KV event batch from "w1": a batch holds at least one event',
  });
  assert.throws(() => consumer.accept({ ...batch(1, 3), firstSeq: 2 }), { message: 'KV event batch from "w1": events[0].seq is 1, expected 2' });
  assert.throws(() => consumer.accept({ ...batch(1, 1), firstSeq: 0, events: events(0, 0) }), { message: /firstSeq must be a positive safe integer, got 0/ });
  assert.throws(() => consumer.accept({ ...batch(1, 1), epoch: 0n }), { message: /epoch must be a bigint in \[1, 2\^64\)/ });
  assert.throws(() => consumer.applySnapshot({ workerId: "w1", epoch: EPOCH, asOfSeq: -1, residency: [] }), {
    name: "KvSnapshotError",
    message: "KV snapshot: asOfSeq must be a non-negative safe integer, got -1",
  });
  assert.throws(() => consumer.heartbeat("w1", EPOCH, 1.5), { name: "KvEventArgumentError", argument: "lastSeq" });
  assert.throws(() => new KvEventConsumer({ tailLossGraceHeartbeats: -1 }), { argument: "tailLossGraceHeartbeats" });
  assert.deepEqual(consumer.workerIds(), []);
});
