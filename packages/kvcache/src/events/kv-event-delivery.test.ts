/**
 * The protocol end to end under a hostile network: a producer (log + true
 * residency) restarts now and then; its batches and snapshot replies travel a
 * network that drops, duplicates and reorders them, and sometimes republishes
 * published events with new batch boundaries (so batches overlap); heartbeats come from the
 * registry and carry the current epoch and last published seq. Whenever the
 * consumer asks, a snapshot of the producer is put on the network.
 *
 * Checked after every step: when the consumer says it is in sync at
 * (epoch, seq), its reconstruction equals the producer's residency after the
 * first `seq` events of that epoch. Checked at the end, after a lossless
 * flush and a few heartbeats: it equals the producer's residency now.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { KV_COMPONENTS, KV_TIERS } from "../kv-types.js";
import { buildSnapshot } from "./build-snapshot.js";
import type { KvEvent, KvEventBatch, KvEventBody, KvSnapshot } from "./kv-event.js";
import { KvEventConsumer } from "./kv-event-consumer.js";
import type { KvResyncDecision } from "./kv-event-decision.js";
import { KvEventLog } from "./kv-event-log.js";
import { type Residency, applyEvent, residencyEntries, residencyOfSnapshot, sortedResidency } from "./testing/residency-model.js";

const WORKER = "w1";

const hashesArb = fc.array(fc.bigInt({ min: 0n, max: 7n }), { minLength: 1, maxLength: 3 });
const componentArb = fc.constantFrom(...KV_COMPONENTS);
const tierArb = fc.constantFrom(...KV_TIERS);
const bodyArb: fc.Arbitrary<KvEventBody> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("stored" as const), component: componentArb, tier: tierArb, blockHashes: hashesArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("removed" as const), component: componentArb, tier: tierArb, blockHashes: hashesArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("moved" as const), component: componentArb, fromTier: tierArb, toTier: tierArb, blockHashes: hashesArb }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "cleared" as const }) },
);

type Op =
  | { t: "append"; body: KvEventBody }
  | { t: "take"; maxEvents: number | undefined }
  | { t: "deliver" | "duplicate" | "drop"; at: number }
  | { t: "replay"; at: number; length: number }
  | { t: "heartbeat" }
  | { t: "restart" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: bodyArb.map((body): Op => ({ t: "append", body })) },
  { weight: 3, arbitrary: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }).map((maxEvents): Op => ({ t: "take", maxEvents })) },
  { weight: 5, arbitrary: fc.nat().map((at): Op => ({ t: "deliver", at })) },
  { weight: 1, arbitrary: fc.nat().map((at): Op => ({ t: "duplicate", at })) },
  { weight: 2, arbitrary: fc.nat().map((at): Op => ({ t: "drop", at })) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("replay" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.constant<Op>({ t: "heartbeat" }) },
  { weight: 1, arbitrary: fc.constant<Op>({ t: "restart" }) },
);

type Message = { kind: "batch"; batch: KvEventBatch } | { kind: "snapshot"; snapshot: KvSnapshot };

function simulate(ops: readonly Op[], grace: number): void {
  let nextEpoch = 1n;
  let log = new KvEventLog({ workerId: WORKER, epoch: nextEpoch++ });
  let truth: Residency = new Map();
  const history = new Map<bigint, KvEvent[]>([[log.epoch, []]]);
  const network: Message[] = [];
  const consumer = new KvEventConsumer({ tailLossGraceHeartbeats: grace });
  let rebuilt: Residency = new Map();
  /** The (epoch, seq) the reconstruction is at, to check applied events run on without a break or a repeat. */
  let rebuiltAt = { epoch: 0n, seq: 0 };

  const snapshotNow = (): KvSnapshot => buildSnapshot(WORKER, log.epoch, log.lastSeq, residencyEntries(truth));
  const onResync = (decision: KvResyncDecision, send: (snapshot: KvSnapshot) => void): void => {
    if (decision.reason === "new-epoch") {
      rebuilt = new Map();
      rebuiltAt = { epoch: consumer.cursor(WORKER)?.epoch ?? 0n, seq: 0 };
    }
    send(snapshotNow());
  };
  const post = (snapshot: KvSnapshot): void => void network.push({ kind: "snapshot", snapshot });
  const receive = (message: Message, send: (snapshot: KvSnapshot) => void): void => {
    if (message.kind === "snapshot") {
      if (consumer.applySnapshot(message.snapshot).action === "apply") {
        rebuilt = residencyOfSnapshot(message.snapshot);
        rebuiltAt = { epoch: message.snapshot.epoch, seq: message.snapshot.asOfSeq };
      }
      return;
    }
    const decision = consumer.accept(message.batch);
    if (decision.action === "apply") {
      // Seq 0 of every epoch is the empty state, so only an empty reconstruction may start another epoch.
      if (rebuiltAt.epoch !== message.batch.epoch) {
        assert.equal(rebuiltAt.seq, 0);
        rebuiltAt = { epoch: message.batch.epoch, seq: 0 };
      }
      for (const event of decision.events) {
        assert.equal(event.seq, rebuiltAt.seq + 1);
        applyEvent(rebuilt, event);
        rebuiltAt.seq = event.seq;
      }
    }
    if (decision.action === "resync") onResync(decision, send);
  };
  const heartbeat = (send: (snapshot: KvSnapshot) => void): void => {
    const decision = consumer.heartbeat(WORKER, log.epoch, log.lastTakenSeq);
    if (decision.action === "resync") onResync(decision, send);
  };
  const checkInSyncState = (): void => {
    const cursor = consumer.cursor(WORKER);
    if (cursor === undefined || cursor.resyncPending !== null) return;
    if (cursor.appliedSeq > 0 || rebuiltAt.seq > 0) assert.deepEqual(rebuiltAt, { epoch: cursor.epoch, seq: cursor.appliedSeq });
    const expected: Residency = new Map();
    for (const event of (history.get(cursor.epoch) ?? []).slice(0, cursor.appliedSeq)) applyEvent(expected, event);
    assert.deepEqual(sortedResidency(rebuilt), sortedResidency(expected));
  };

  for (const op of ops) {
    switch (op.t) {
      case "append": {
        const event = log.append(op.body);
        applyEvent(truth, event);
        history.get(log.epoch)?.push(event);
        break;
      }
      case "take": {
        const batch = log.takeBatch(op.maxEvents);
        if (batch !== null) network.push({ kind: "batch", batch });
        break;
      }
      case "deliver":
      case "duplicate":
      case "drop": {
        if (network.length === 0) break;
        const at = op.at % network.length;
        const message = network[at] as Message;
        if (op.t !== "duplicate") network.splice(at, 1);
        if (op.t !== "drop") receive(message, post);
        break;
      }
      case "replay": {
        // Re-publishes published events with new boundaries, so batches overlap what was applied.
        const published = (history.get(log.epoch) ?? []).slice(0, log.lastTakenSeq);
        if (published.length === 0) break;
        const from = op.at % published.length;
        const events = published.slice(from, from + op.length);
        network.push({ kind: "batch", batch: { workerId: WORKER, epoch: log.epoch, firstSeq: from + 1, events } });
        break;
      }
      case "heartbeat":
        heartbeat(post);
        break;
      case "restart":
        // The process dies with whatever it had not published; the new one starts empty.
        log = new KvEventLog({ workerId: WORKER, epoch: nextEpoch++ });
        truth = new Map();
        history.set(log.epoch, []);
        break;
    }
    checkInSyncState();
  }

  // Flush: publish the rest losslessly, then let heartbeats find any lost tail; snapshots now arrive at once.
  const deliverNow = (snapshot: KvSnapshot): void => receive({ kind: "snapshot", snapshot }, deliverNow);
  const last = log.takeBatch();
  if (last !== null) receive({ kind: "batch", batch: last }, deliverNow);
  for (let i = 0; i <= grace + 1; i++) heartbeat(deliverNow);
  checkInSyncState();
  assert.deepEqual(consumer.cursor(WORKER), { epoch: log.epoch, appliedSeq: log.lastSeq, resyncPending: null });
  assert.deepEqual(sortedResidency(rebuilt), sortedResidency(truth));
}

test("kvcache events - through drops, duplicates, reorders and restarts the consumer rebuilds the producer's residency", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 150, size: "max" }), fc.constantFrom(0, 1, 2), (ops, grace) => simulate(ops, grace)),
    { numRuns: 500 },
  );
});

test("kvcache events - a lossless in-order network never needs a snapshot", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(bodyArb, fc.boolean()), { maxLength: 60 }), (steps) => {
      const log = new KvEventLog({ workerId: WORKER, epoch: 1n });
      const consumer = new KvEventConsumer();
      const truth: Residency = new Map();
      const rebuilt: Residency = new Map();
      for (const [body, publish] of [...steps, [{ kind: "cleared" } as KvEventBody, true] as const]) {
        applyEvent(truth, log.append(body));
        const batch = publish ? log.takeBatch() : null;
        if (batch === null) continue;
        const decision = consumer.accept(batch);
        assert.equal(decision.action, "apply");
        if (decision.action === "apply") for (const event of decision.events) applyEvent(rebuilt, event);
        assert.deepEqual(consumer.heartbeat(WORKER, log.epoch, log.lastTakenSeq), { action: "ok" });
      }
      assert.deepEqual(sortedResidency(rebuilt), sortedResidency(truth));
    }),
    { numRuns: 200 },
  );
});
