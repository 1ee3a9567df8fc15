/**
 * The KV-event half of the CoordBus scenarios (run inside coordBusScenarios,
 * so against the memory bus and a real nats-server alike): kvcache batches and
 * snapshot pages go in, the same values come out, for every event kind, for
 * random batches and snapshots, and for paged snapshots; and a message the
 * receiver cannot read exactly comes out as an "undecodable" delivery naming
 * the worker, never as a guess.
 */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { buildSnapshot, mergeSnapshotPages, pageSnapshot, type KvEventBatch, type KvSnapshot } from "@sigmaserve/kvcache/events";
import { create } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import fc from "fast-check";
import type { CoordBus, KvEventDelivery, KvSnapshotPage } from "../coord-bus.js";
import { KvDecodeError } from "../errors.js";
import { kvEventsSubject } from "../subjects.js";
import type { CoordBusScenarioFixture, ScenarioBusOptions } from "./coord-bus-scenarios.js";
import { kvEventBatch, kvEventBatchFirstSeq, uniqueWorkerId } from "./coord-fixtures.js";
import { kvEventBatchArb, kvSnapshotArb } from "./kv-event-arbitraries.js";
import { rawKvEventBatch, rawMovedEvent, rawStoredEvent, rawUnknownKindEvent } from "./raw-kv-messages.js";
import { Recorder } from "./recorder.js";

/** How long a scenario waits for a message that should come. */
const WAIT_MS = 3_000;

export interface KvEventScenarioContext {
  /** A new bus on the shared backend, closed after the test. */
  connect(options?: ScenarioBusOptions): Promise<CoordBus>;
  fixture(): CoordBusScenarioFixture;
}

const batchOf = (delivery: KvEventDelivery | undefined): KvEventBatch | undefined => (delivery?.kind === "batch" ? delivery.batch : undefined);
const fromWorker = (workerId: string) => (delivery: KvEventDelivery) =>
  delivery.kind === "batch" ? delivery.batch.workerId === workerId : delivery.workerId === workerId;
const isBatch = (workerId: string, firstSeq: number) => (delivery: KvEventDelivery) =>
  delivery.kind === "batch" && delivery.batch.workerId === workerId && delivery.batch.firstSeq === firstSeq;

/** A snapshot handler that pages `snapshot` as a worker does: the page token is the page index. */
function pagingHandler(snapshot: KvSnapshot, maxHashes: number) {
  const pages = pageSnapshot(snapshot, maxHashes);
  return async (request: coordv1.KvSnapshotRequest): Promise<KvSnapshotPage> => {
    const index = request.pageToken === "" ? 0 : Number(request.pageToken);
    return { page: pages[index]!, nextPageToken: index + 1 < pages.length ? String(index + 1) : "" };
  };
}

/** Every page of `workerId`'s snapshot, following the tokens. */
async function fetchPages(bus: CoordBus, workerId: string): Promise<KvSnapshotPage[]> {
  const pages: KvSnapshotPage[] = [];
  let pageToken = "";
  do {
    const page = await bus.requestSnapshot(workerId, create(coordv1.KvSnapshotRequestSchema, { requesterId: "scenario", pageToken }));
    pages.push(page);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return pages;
}

export function kvEventScenarios(impl: string, { connect, fixture }: KvEventScenarioContext): void {
  test(`coord-bus (${impl}) - KV-event batches of every kind arrive in order, decoded exactly, per worker and by wildcard`, async () => {
    const [router, workerA, workerB] = [await connect(), await connect(), await connect()];
    const [a, b] = [uniqueWorkerId("kva"), uniqueWorkerId("kvb")];
    const onlyA = new Recorder<KvEventDelivery>();
    const onlyB = new Recorder<KvEventDelivery>();
    const every = new Recorder<KvEventDelivery>();
    await router.subscribeKvEvents(onlyA.push, { workerId: a });
    await router.subscribeKvEvents(onlyB.push, { workerId: b });
    await router.subscribeKvEvents(every.push);

    const perWorker = 25;
    for (let i = 0; i < perWorker; i++) {
      await workerA.publishKvEvents(kvEventBatch(a, i));
      await workerB.publishKvEvents(kvEventBatch(b, i));
    }
    const last = kvEventBatchFirstSeq(perWorker - 1);
    await onlyA.waitFor(isBatch(a, last), WAIT_MS, "a's last batch");
    await onlyB.waitFor(isBatch(b, last), WAIT_MS, "b's last batch");
    await every.waitFor(isBatch(b, last), WAIT_MS, "b's last batch (wildcard)");

    for (const [id, recorder] of [[a, onlyA], [b, onlyB], [a, every], [b, every]] as const) {
      const got = recorder.filter(fromWorker(id));
      assert.deepEqual(got, Array.from({ length: perWorker }, (_, i) => ({ kind: "batch", batch: kvEventBatch(id, i) })), `${id}: every batch, in order, exact`);
    }
    const first = batchOf(onlyA.items[0]);
    assert.deepEqual(first?.events.map((event) => event.kind), ["stored", "stored", "moved", "removed"]);
    assert.deepEqual(first?.events[0], { kind: "stored", seq: 1, component: "k", tier: "device", blockHashes: [0xf000_0000_0000_0001n, 0xf000_0000_0000_0002n], parentBlockHash: 0xf000_0000_0000_0000n });
    assert.equal(Object.hasOwn(first?.events[1] ?? {}, "parentBlockHash"), false, "a chain root arrives without a parent");
    assert.deepEqual(batchOf(onlyA.items[9])?.events, [{ kind: "cleared", seq: kvEventBatchFirstSeq(9) }]);
  });

  test(`coord-bus (${impl}) - random KV-event batches come out of the bus exactly as they went in`, async () => {
    const [router, worker] = [await connect(), await connect()];
    const id = uniqueWorkerId("kvprop");
    const seen = new Recorder<KvEventDelivery>();
    await router.subscribeKvEvents(seen.push, { workerId: id });
    await fc.assert(
      fc.asyncProperty(fc.array(kvEventBatchArb(id), { minLength: 1, maxLength: 4 }), async (batches) => {
        const since = seen.items.length;
        for (const batch of batches) await worker.publishKvEvents(batch);
        // Random batches may repeat a firstSeq; the marker (a seq no arbitrary uses) closes this run.
        const marker: KvEventBatch = { workerId: id, epoch: 1n, firstSeq: 0, events: [] };
        await worker.publishKvEvents(marker);
        await seen.waitFor((d) => d.kind === "batch" && d.batch.firstSeq === 0, WAIT_MS, "the end marker", since);
        assert.deepEqual(seen.items.slice(since), [...batches, marker].map((batch) => ({ kind: "batch", batch })));
      }),
      { numRuns: 25 },
    );
  });

  test(`coord-bus (${impl}) - a paged snapshot round-trips: pages follow their tokens and merge back to the snapshot`, async () => {
    const [router, worker] = [await connect(), await connect()];
    const id = uniqueWorkerId("kvsnap");
    const snapshot = buildSnapshot(id, 0xffff_ffff_ffff_ffffn, 2 ** 53 - 1, [
      ...[1n, 2n, 3n, 2n ** 64n - 1n].map((blockHash) => ({ component: "k" as const, tier: "device" as const, blockHash })),
      ...[1n, 2n].map((blockHash) => ({ component: "v" as const, tier: "host" as const, blockHash })),
      { component: "v", tier: "device", blockHash: 3n },
    ]);
    const serving = await worker.serveControl(id, { snapshot: pagingHandler(snapshot, 3) });
    const pages = await fetchPages(router, id);
    assert.deepEqual(pages, [
      { page: { ...snapshot, residency: [{ component: "k", tier: "device", blockHashes: [1n, 2n, 3n] }] }, nextPageToken: "1" },
      {
        page: {
          ...snapshot,
          residency: [
            { component: "k", tier: "device", blockHashes: [2n ** 64n - 1n] },
            { component: "v", tier: "device", blockHashes: [3n] },
            { component: "v", tier: "host", blockHashes: [1n] },
          ],
        },
        nextPageToken: "2",
      },
      { page: { ...snapshot, residency: [{ component: "v", tier: "host", blockHashes: [2n] }] }, nextPageToken: "" },
    ]);
    assert.deepEqual(mergeSnapshotPages(pages.map((p) => p.page)), snapshot);
    await serving.close();

    // And random snapshots, paged at random sizes.
    await fc.assert(
      fc.asyncProperty(kvSnapshotArb(id), fc.integer({ min: 1, max: 25 }), async (random, maxHashes) => {
        const canonical = buildSnapshot(id, random.epoch, random.asOfSeq, random.residency.flatMap((g) => g.blockHashes.map((blockHash) => ({ ...g, blockHash }))));
        const sub = await worker.serveControl(id, { snapshot: pagingHandler(canonical, maxHashes) });
        try {
          const got = await fetchPages(router, id);
          assert.deepEqual(got.map((p) => p.page), pageSnapshot(canonical, maxHashes));
          assert.deepEqual(mergeSnapshotPages(got.map((p) => p.page)), canonical);
        } finally {
          await sub.close();
        }
      }),
      { numRuns: 10 },
    );
  });

  test(`coord-bus (${impl}) - a batch the router cannot read is delivered as undecodable, naming the worker; the stream goes on`, async () => {
    const [router, worker] = [await connect(), await connect()];
    const id = uniqueWorkerId("kvbad");
    const mine = new Recorder<KvEventDelivery>();
    const every = new Recorder<KvEventDelivery>();
    await router.subscribeKvEvents(mine.push, { workerId: id });
    await router.subscribeKvEvents(every.push);
    const subject = kvEventsSubject(id);
    const header = { workerId: id, epoch: 7n, firstSeq: 5n };
    const bad: [string, Uint8Array, string, bigint | undefined][] = [
      ["an unknown event kind", rawKvEventBatch(header, [rawStoredEvent(1, 1, [1n]), rawUnknownKindEvent(9)]), "events[1].kind", 7n],
      ["an UNSPECIFIED component", rawKvEventBatch(header, [rawStoredEvent(0, 1, [1n])]), "events[0].stored.component", 7n],
      ["an unknown tier", rawKvEventBatch(header, [rawMovedEvent(2, 1, 3, [1n])]), "events[0].moved.toTier", 7n],
      ["another worker's batch on this subject", rawKvEventBatch({ ...header, workerId: "someone-else" }, []), "workerId", 7n],
      ["bytes that are not protobuf", new Uint8Array([0xff, 0xff, 0xff]), "", undefined],
    ];

    await worker.publishKvEvents(kvEventBatch(id, 0));
    await mine.waitFor(isBatch(id, kvEventBatchFirstSeq(0)), WAIT_MS, "the first batch");
    for (const [what, bytes] of bad) {
      const since = mine.items.length;
      await fixture().publishRaw(subject, bytes);
      await mine.waitFor((d) => d.kind === "undecodable", WAIT_MS, what, since);
    }
    await worker.publishKvEvents(kvEventBatch(id, 1));
    await mine.waitFor(isBatch(id, kvEventBatchFirstSeq(1)), WAIT_MS, "the batch after");
    await every.waitFor(isBatch(id, kvEventBatchFirstSeq(1)), WAIT_MS, "the batch after (wildcard)");

    for (const recorder of [mine, every]) {
      const got = recorder.filter(fromWorker(id));
      assert.deepEqual(got.map((d) => d.kind), ["batch", "undecodable", "undecodable", "undecodable", "undecodable", "undecodable", "batch"]);
      assert.deepEqual(got[0], { kind: "batch", batch: kvEventBatch(id, 0) });
      assert.deepEqual(got[6], { kind: "batch", batch: kvEventBatch(id, 1) });
      bad.forEach(([what, , field, epoch], i) => {
        const delivery = got[i + 1];
        assert.ok(delivery?.kind === "undecodable", what);
        assert.equal(delivery.workerId, id, `${what}: named by its subject`);
        assert.ok(delivery.error instanceof KvDecodeError);
        assert.deepEqual([delivery.error.workerId, delivery.error.subject, delivery.error.field, delivery.error.epoch], [id, subject, field, epoch], what);
      });
    }
  });

  test(`coord-bus (${impl}) - a snapshot page naming another worker is refused with KvDecodeError`, async () => {
    const [router, worker] = [await connect(), await connect()];
    const id = uniqueWorkerId("kvsnapbad");
    await worker.serveControl(id, { snapshot: async () => ({ page: buildSnapshot("impostor", 1n, 0, []), nextPageToken: "" }) });
    await assert.rejects(router.requestSnapshot(id, create(coordv1.KvSnapshotRequestSchema, {})), (err: unknown) => {
      assert.ok(err instanceof KvDecodeError);
      assert.deepEqual([err.workerId, err.field, err.epoch], [id, "workerId", 1n]);
      return true;
    });
  });
}
