/**
 * Property: whatever the event stream does (batches of any size, lost
 * batches, duplicates and overlapping replays, late batches of dead epochs,
 * restarts, heartbeats, workers removed and seen again), the index holds
 * exactly the producer's residency of the epoch it follows, as of the seq it
 * applied; snapshots asked for are served at once from the producer's truth;
 * overlap equals a brute-force walk over that reference; and after a final
 * flush every worker is in sync with its whole truth.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { KvEvent, KvEventBatch } from "@sigmaserve/kvcache/events";
import { KvIndex } from "./kv-index.js";
import type { KvResyncRequest } from "./kv-index-types.js";
import { type Residency, bruteOverlap, foldEvents, groupsOf, snapshotOfResidency } from "./testing/reference-residency.js";

type EventBody = KvEvent extends infer E ? (E extends KvEvent ? Omit<E, "seq"> : never) : never;

const WORKERS = ["w0", "w1", "w2"];
const hashArb = fc.bigInt({ min: 0n, max: 5n });
const componentArb = fc.constantFrom("k" as const, "v" as const);
const tierArb = fc.constantFrom("device" as const, "host" as const);
const hashesArb = fc.array(hashArb, { minLength: 1, maxLength: 3 });
const bodyArb: fc.Arbitrary<EventBody> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("stored" as const), component: componentArb, tier: tierArb, blockHashes: hashesArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("removed" as const), component: componentArb, tier: tierArb, blockHashes: hashesArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("moved" as const), component: componentArb, fromTier: tierArb, toTier: tierArb, blockHashes: hashesArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: "cleared" as const }) },
);
const workerArb = fc.integer({ min: 0, max: WORKERS.length - 1 });

type Op =
  | { t: "append"; w: number; body: EventBody }
  | { t: "deliver"; w: number; max: number; drop: boolean }
  | { t: "replay"; w: number; at: number }
  | { t: "late"; w: number; at: number }
  | { t: "heartbeat"; w: number }
  | { t: "restart"; w: number }
  | { t: "remove"; w: number }
  | { t: "check"; request: bigint[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant("append" as const), w: workerArb, body: bodyArb }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("deliver" as const), w: workerArb, max: fc.integer({ min: 1, max: 4 }), drop: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("replay" as const), w: workerArb, at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("late" as const), w: workerArb, at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("heartbeat" as const), w: workerArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("restart" as const), w: workerArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("remove" as const), w: workerArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("check" as const), request: fc.array(hashArb, { maxLength: 6 }) }) },
);

interface Producer {
  workerId: string;
  epoch: bigint;
  /** Every epoch's events, in seq order (seq = index + 1). */
  bodiesByEpoch: Map<bigint, EventBody[]>;
  /** Seq of the last event put into a batch (delivered or lost). */
  published: number;
  batches: KvEventBatch[];
  oldBatches: KvEventBatch[];
}

function simulate(ops: readonly Op[]): void {
  const index = new KvIndex();
  let nextEpoch = 1n;
  const producers = WORKERS.map((workerId): Producer => {
    const epoch = nextEpoch++;
    return { workerId, epoch, bodiesByEpoch: new Map([[epoch, []]]), published: 0, batches: [], oldBatches: [] };
  });
  const bodies = (p: Producer) => p.bodiesByEpoch.get(p.epoch)!;

  /**
   * Serves a resync at once: the producer's current truth as of its last
   * appended seq. NOTE: the snapshot may be refused as "stale-epoch": a late
   * batch of a dead epoch reaching a worker the index had forgotten (removed)
   * is taken for a restart, which retires the live epoch until the next
   * heartbeat switches back (the consumer's documented repair). Meanwhile the
   * worker is empty in the index, which the checks below expect.
   */
  const serve = (resync: KvResyncRequest | null): void => {
    if (resync === null) return;
    const producer = producers.find((p) => p.workerId === resync.workerId)!;
    const snapshot = snapshotOfResidency(producer.workerId, producer.epoch, bodies(producer).length, foldEvents(bodies(producer)));
    const decision = index.applySnapshot(snapshot);
    if (decision.action === "ignore") assert.equal(decision.reason, "stale-epoch");
  };

  /**
   * The producer's truth the index should hold: the epoch it follows as of
   * the seq it applied (empty when it follows none). This also covers a
   * pending resync: after a gap the state stays exact as of appliedSeq; after
   * a new epoch appliedSeq is 0, so empty.
   */
  const expected = (): Map<string, Residency> => {
    const out = new Map<string, Residency>();
    for (const { workerId, sync } of index.stats().perWorker) {
      if (sync === null) continue;
      const epochBodies = producers.find((p) => p.workerId === workerId)!.bodiesByEpoch.get(sync.epoch)!;
      out.set(workerId, foldEvents(epochBodies.slice(0, sync.appliedSeq)));
    }
    return out;
  };

  const checkState = (request: readonly bigint[]): void => {
    const truth = expected();
    for (const workerId of WORKERS) {
      const groups = groupsOf(truth.get(workerId) ?? new Map());
      assert.deepEqual(index.residency(workerId), groups, `residency of ${workerId}`);
      const counts = index.stats().perWorker.find((w) => w.workerId === workerId)?.blocks;
      for (const group of groups) assert.equal(counts?.[group.component][group.tier], group.blockHashes.length);
    }
    assert.deepEqual(index.overlap(request), bruteOverlap(truth, request));
  };

  for (const op of ops) {
    if (op.t === "check") {
      checkState(op.request);
      continue;
    }
    const producer = producers[op.w]!;
    switch (op.t) {
      case "append":
        bodies(producer).push(op.body);
        break;
      case "deliver": {
        const all = bodies(producer);
        if (producer.published === all.length) break;
        const firstSeq = producer.published + 1;
        const lastSeq = Math.min(all.length, producer.published + op.max);
        const events = all.slice(firstSeq - 1, lastSeq).map((body, i) => ({ ...body, seq: firstSeq + i }) as KvEvent);
        const batch = { workerId: producer.workerId, epoch: producer.epoch, firstSeq, events };
        producer.published = lastSeq;
        producer.batches.push(batch);
        if (!op.drop) serve(index.applyBatch(batch));
        break;
      }
      case "replay":
        if (producer.batches.length > 0) serve(index.applyBatch(producer.batches[op.at % producer.batches.length]!));
        break;
      case "late":
        if (producer.oldBatches.length > 0) serve(index.applyBatch(producer.oldBatches[op.at % producer.oldBatches.length]!));
        break;
      case "heartbeat":
        serve(index.heartbeat(producer.workerId, producer.epoch, producer.published));
        break;
      case "restart":
        producer.oldBatches.push(...producer.batches);
        producer.batches = [];
        producer.epoch = nextEpoch++;
        producer.bodiesByEpoch.set(producer.epoch, []);
        producer.published = 0;
        break;
      case "remove":
        index.removeWorker(producer.workerId);
        break;
    }
    checkState([0n, 1n, 2n, 3n]);
  }

  // Flush: publish the rest, let two heartbeats reveal any lost tail, then everyone is in sync with all of its truth.
  for (const producer of producers) {
    const all = bodies(producer);
    if (producer.published < all.length) {
      const firstSeq = producer.published + 1;
      producer.published = all.length;
      const events = all.slice(firstSeq - 1).map((body, i) => ({ ...body, seq: firstSeq + i }) as KvEvent);
      serve(index.applyBatch({ workerId: producer.workerId, epoch: producer.epoch, firstSeq, events }));
    }
    serve(index.heartbeat(producer.workerId, producer.epoch, producer.published));
    serve(index.heartbeat(producer.workerId, producer.epoch, producer.published));
    assert.deepEqual(index.residency(producer.workerId), groupsOf(foldEvents(all)));
    const sync = index.stats().perWorker.find((w) => w.workerId === producer.workerId)?.sync;
    assert.deepEqual(sync, { epoch: producer.epoch, appliedSeq: all.length, resyncPending: null });
  }
  checkState([0n, 1n, 2n, 3n, 4n, 5n]);
}

test("kv-index property - an index fed a random event stream equals the reference residency, and overlap equals brute force", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 120, size: "max" }), (ops) => simulate(ops)),
    { numRuns: 300 },
  );
});
