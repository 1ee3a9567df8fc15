import assert from "node:assert/strict";
import { test } from "node:test";
import { KvEventArgumentError } from "./errors.js";
import type { KvEventBody } from "./kv-event.js";
import { KvEventLog, randomKvEpoch } from "./kv-event-log.js";

const STORED: KvEventBody = { kind: "stored", component: "k", tier: "device", blockHashes: [11n, 12n] };
const MOVED: KvEventBody = { kind: "moved", component: "v", fromTier: "device", toTier: "host", blockHashes: [12n] };

test("kvcache events - the log numbers events 1, 2, 3 … and batches what was appended since the last take", () => {
  const log = new KvEventLog({ workerId: "w1", epoch: 42n });
  assert.equal(log.lastSeq, 0);
  assert.equal(log.takeBatch(), null);
  assert.deepEqual(log.append(STORED), { ...STORED, seq: 1 });
  assert.deepEqual(log.append(MOVED), { ...MOVED, seq: 2 });
  assert.equal(log.lastSeq, 2);
  assert.equal(log.lastTakenSeq, 0);
  assert.deepEqual(log.takeBatch(), {
    workerId: "w1",
    epoch: 42n,
    firstSeq: 1,
    events: [
      { ...STORED, seq: 1 },
      { ...MOVED, seq: 2 },
    ],
  });
  assert.equal(log.lastTakenSeq, 2);
  assert.equal(log.takeBatch(), null);
  log.append({ kind: "cleared" });
  assert.deepEqual(log.takeBatch(), { workerId: "w1", epoch: 42n, firstSeq: 3, events: [{ kind: "cleared", seq: 3 }] });
});

test("kvcache events - equal consecutive events are not merged: each keeps its own seq", () => {
  const log = new KvEventLog({ workerId: "w1", epoch: 1n });
  log.append(STORED);
  log.append(STORED);
  assert.deepEqual(log.takeBatch()?.events.map((event) => event.seq), [1, 2]);
});

test("kvcache events - takeBatch(maxEvents) takes the oldest events and leaves the rest for the next batch", () => {
  const log = new KvEventLog({ workerId: "w1", epoch: 1n });
  for (let i = 0; i < 5; i++) log.append({ kind: "removed", component: "k", tier: "host", blockHashes: [BigInt(i)] });
  const first = log.takeBatch(2);
  assert.equal(first?.firstSeq, 1);
  assert.deepEqual(first?.events.map((event) => event.seq), [1, 2]);
  assert.equal(log.numPendingEvents, 3);
  assert.equal(log.lastTakenSeq, 2);
  const second = log.takeBatch(10);
  assert.equal(second?.firstSeq, 3);
  assert.deepEqual(second?.events.map((event) => event.seq), [3, 4, 5]);
  assert.equal(log.takeBatch(1), null);
});

test("kvcache events - an appended event holds a copy of the hashes, not the caller's array", () => {
  const log = new KvEventLog({ workerId: "w1", epoch: 1n });
  const hashes = [1n, 2n];
  log.append({ kind: "stored", component: "v", tier: "host", blockHashes: hashes, parentBlockHash: 9n });
  hashes.push(3n);
  assert.deepEqual(log.takeBatch()?.events, [
    { kind: "stored", component: "v", tier: "host", blockHashes: [1n, 2n], parentBlockHash: 9n, seq: 1 },
  ]);
});

test("kvcache events - without an epoch the log draws a random non-zero u64, different per log", () => {
  const a = new KvEventLog({ workerId: "w1" });
  const b = new KvEventLog({ workerId: "w1" });
  assert.notEqual(a.epoch, b.epoch);
  for (const epoch of [a.epoch, b.epoch, randomKvEpoch()]) assert.ok(epoch > 0n && epoch < 2n ** 64n);
});

test("kvcache events - bad log arguments throw KvEventArgumentError naming them", () => {
  assert.throws(() => new KvEventLog({ workerId: "" }), { name: "KvEventArgumentError", argument: "workerId" });
  assert.throws(() => new KvEventLog({ workerId: "w", epoch: 0n }), { argument: "epoch", message: "epoch: must be a bigint in [1, 2^64), got 0" });
  assert.throws(() => new KvEventLog({ workerId: "w", epoch: 2n ** 64n }), KvEventArgumentError);
  const log = new KvEventLog({ workerId: "w", epoch: 1n });
  assert.throws(() => log.takeBatch(0), { argument: "maxEvents" });
  assert.throws(() => log.append({ kind: "removed", component: "k", tier: "host", blockHashes: [1n, -1n] }), {
    argument: "body.blockHashes[1]",
  });
  assert.throws(() => log.append({ kind: "stored", component: "k", tier: "host", blockHashes: [], parentBlockHash: 2n ** 64n }), {
    argument: "body.parentBlockHash",
  });
  assert.throws(() => log.append({ kind: "evicted" } as unknown as KvEventBody), { argument: "body.kind" });
  // A refused event takes no seq.
  assert.equal(log.lastSeq, 0);
});
