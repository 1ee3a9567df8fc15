import * as assert from "node:assert/strict";
import { test } from "node:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { KvEventBatch } from "@sigmaserve/kvcache/events";
import { pageSnapshot, buildSnapshot, mergeSnapshotPages } from "@sigmaserve/kvcache/events";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import fc from "fast-check";
import { CoordArgumentError, KvDecodeError } from "../errors.js";
import { kvEventBatchArb, kvSnapshotArb } from "../testing/kv-event-arbitraries.js";
import {
  rawClearedEvent,
  rawEmptyEvent,
  rawKvEventBatch,
  rawMovedEvent,
  rawStoredEvent,
  rawUnknownKindEvent,
} from "../testing/raw-kv-messages.js";
import { decodeKvEventBatch, decodeKvSnapshotPage, encodeKvEventBatch, encodeKvSnapshotPage } from "./kv-event-codec.js";
import { kvComponentFromProto, kvComponentToProto, kvTierFromProto, kvTierToProto } from "./kv-proto-enums.js";

const FROM_W1 = { subject: "sigmaserve.kv.w1", workerId: "w1" };
const SNAPSHOT_FROM_W1 = { subject: "sigmaserve.ctl.w1.snapshot", workerId: "w1" };
const H = 0xfedc_ba98_7654_3210n;

/** Encode, to bytes and back, decode: the whole trip a batch makes. */
function viaWire(batch: KvEventBatch): KvEventBatch {
  const bytes = toBinary(coordv1.KvEventBatchSchema, encodeKvEventBatch(batch, 1n));
  return decodeKvEventBatch(fromBinary(coordv1.KvEventBatchSchema, bytes), { subject: `sigmaserve.kv.${batch.workerId}`, workerId: batch.workerId });
}

function decodeRaw(bytes: Uint8Array): KvEventBatch {
  return decodeKvEventBatch(fromBinary(coordv1.KvEventBatchSchema, bytes), FROM_W1);
}

test("kv-event-codec - the enum mapping: k/v and device/host both ways; UNSPECIFIED and unknown numbers map to nothing", () => {
  assert.equal(kvComponentToProto("k"), kvv1.KvComponent.K);
  assert.equal(kvComponentToProto("v"), kvv1.KvComponent.V);
  assert.equal(kvTierToProto("device"), kvv1.KvTier.DEVICE);
  assert.equal(kvTierToProto("host"), kvv1.KvTier.HOST);
  // The proto numbers themselves (kv.proto), not the generated names: K = 1, V = 2, DEVICE = 1, HOST = 2.
  assert.deepEqual([kvComponentFromProto(1), kvComponentFromProto(2), kvTierFromProto(1), kvTierFromProto(2)], ["k", "v", "device", "host"]);
  assert.deepEqual([kvComponentFromProto(0), kvComponentFromProto(3 as kvv1.KvComponent), kvTierFromProto(0), kvTierFromProto(7 as kvv1.KvTier)], [undefined, undefined, undefined, undefined]);
  assert.throws(() => kvComponentToProto("kv" as never, "usage[0].component"), (err: unknown) => err instanceof CoordArgumentError && err.field === "usage[0].component");
  assert.throws(() => kvTierToProto("toString" as never), CoordArgumentError, "an inherited property is not a tier");
});

test("kv-event-codec - every event kind encodes to the exact proto message and decodes back", () => {
  const batch: KvEventBatch = {
    workerId: "w1",
    epoch: 0xffff_ffff_ffff_fffen,
    firstSeq: 41,
    events: [
      { kind: "stored", seq: 41, component: "k", tier: "device", blockHashes: [H, 0n], parentBlockHash: 2n ** 64n - 1n },
      { kind: "stored", seq: 42, component: "v", tier: "host", blockHashes: [] },
      { kind: "removed", seq: 43, component: "v", tier: "device", blockHashes: [H] },
      { kind: "moved", seq: 44, component: "k", fromTier: "host", toTier: "device", blockHashes: [1n, 2n] },
      { kind: "cleared", seq: 45 },
    ],
  };
  const expected = create(coordv1.KvEventBatchSchema, {
    workerId: "w1",
    epoch: 0xffff_ffff_ffff_fffen,
    firstSeq: 41n,
    publishedAtUnixMs: 1_760_000_000_000n,
    events: [
      { kind: { case: "stored", value: { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, blockHashes: [H, 0n], parentBlockHash: 2n ** 64n - 1n } } },
      { kind: { case: "stored", value: { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, blockHashes: [] } } },
      { kind: { case: "removed", value: { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, blockHashes: [H] } } },
      { kind: { case: "moved", value: { component: kvv1.KvComponent.K, fromTier: kvv1.KvTier.HOST, toTier: kvv1.KvTier.DEVICE, blockHashes: [1n, 2n] } } },
      { kind: { case: "cleared", value: {} } },
    ],
  });
  const message = encodeKvEventBatch(batch, 1_760_000_000_000n);
  assert.ok(equals(coordv1.KvEventBatchSchema, message, expected));
  assert.equal(message.events[1]?.kind.case === "stored" && message.events[1].kind.value.parentBlockHash, undefined, "a chain root has no parent on the wire");
  assert.deepEqual(viaWire(batch), batch);
  assert.equal(Object.hasOwn(viaWire(batch).events[1]!, "parentBlockHash"), false, "and none after decoding");
});

test("kv-event-codec - bytes written by hand decode to the batch they spell", () => {
  const bytes = rawKvEventBatch({ workerId: "w1", epoch: 9n, firstSeq: 3n }, [rawStoredEvent(2, 1, [H, 5n]), rawMovedEvent(1, 2, 1, [7n]), rawClearedEvent()]);
  assert.deepEqual(decodeRaw(bytes), {
    workerId: "w1",
    epoch: 9n,
    firstSeq: 3,
    events: [
      { kind: "stored", seq: 3, component: "v", tier: "device", blockHashes: [H, 5n] },
      { kind: "moved", seq: 4, component: "k", fromTier: "host", toTier: "device", blockHashes: [7n] },
      { kind: "cleared", seq: 5 },
    ],
  });
});

test("kv-event-codec - random batches round-trip exactly through the wire", () => {
  fc.assert(
    fc.property(kvEventBatchArb("w-prop_1"), (batch) => {
      assert.deepEqual(viaWire(batch), batch);
    }),
    { numRuns: 500 },
  );
});

test("kv-event-codec - random snapshot pages round-trip exactly; pageSnapshot pages merge back to the snapshot", () => {
  fc.assert(
    fc.property(kvSnapshotArb("w1"), fc.string({ maxLength: 12 }), fc.integer({ min: 1, max: 40 }), (snapshot, nextPageToken, maxHashes) => {
      const bytes = toBinary(coordv1.KvSnapshotResponseSchema, encodeKvSnapshotPage({ page: snapshot, nextPageToken }));
      assert.deepEqual(decodeKvSnapshotPage(fromBinary(coordv1.KvSnapshotResponseSchema, bytes), SNAPSHOT_FROM_W1), { page: snapshot, nextPageToken });

      const canonical = buildSnapshot("w1", snapshot.epoch, snapshot.asOfSeq, snapshot.residency.flatMap((g) => g.blockHashes.map((blockHash) => ({ ...g, blockHash }))));
      const pages = pageSnapshot(canonical, maxHashes).map((page, i, all) => {
        const wire = toBinary(coordv1.KvSnapshotResponseSchema, encodeKvSnapshotPage({ page, nextPageToken: i < all.length - 1 ? `p${i + 1}` : "" }));
        return decodeKvSnapshotPage(fromBinary(coordv1.KvSnapshotResponseSchema, wire), SNAPSHOT_FROM_W1).page;
      });
      assert.deepEqual(mergeSnapshotPages(pages), canonical);
    }),
    { numRuns: 300 },
  );
});

/** Runs `decode` and returns the KvDecodeError it must throw. */
function decodeError(decode: () => unknown): KvDecodeError {
  try {
    decode();
  } catch (err) {
    assert.ok(err instanceof KvDecodeError, `expected a KvDecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail("decoded without an error");
}

test("kv-event-codec - an unknown event kind (a newer worker's oneof field) is a decode error, not a cleared", () => {
  const header = { workerId: "w1", epoch: 9n, firstSeq: 3n };
  const err = decodeError(() => decodeRaw(rawKvEventBatch(header, [rawStoredEvent(1, 1, [1n]), rawUnknownKindEvent(9)])));
  assert.equal(err.field, "events[1].kind");
  assert.equal(err.workerId, "w1");
  assert.equal(err.epoch, 9n);
  assert.equal(err.subject, "sigmaserve.kv.w1");
  assert.equal(err.message, 'sigmaserve.kv.w1: undecodable message from worker "w1": events[1].kind: unknown event kind (field 9; a newer worker?)');
  assert.equal(decodeError(() => decodeRaw(rawKvEventBatch(header, [rawEmptyEvent()]))).message.endsWith("events[0].kind: no event kind set"), true);
  // And one made through the generated types, with its oneof case unset.
  const unset = create(coordv1.KvEventBatchSchema, { workerId: "w1", epoch: 9n, firstSeq: 3n, events: [{}] });
  assert.equal(decodeError(() => decodeKvEventBatch(unset, FROM_W1)).field, "events[0].kind");
});

test("kv-event-codec - an UNSPECIFIED or unknown component or tier is a decode error naming the field", () => {
  const header = { workerId: "w1", epoch: 9n, firstSeq: 3n };
  const cases: [Uint8Array, string, string][] = [
    [rawStoredEvent(0, 1, [1n]), "events[0].stored.component", "KV_COMPONENT_UNSPECIFIED"],
    [rawStoredEvent(3, 1, [1n]), "events[0].stored.component", "unknown component 3"],
    [rawStoredEvent(1, 0, [1n]), "events[0].stored.tier", "KV_TIER_UNSPECIFIED"],
    [rawMovedEvent(2, 1, 5, [1n]), "events[0].moved.toTier", "unknown tier 5"],
    [rawMovedEvent(2, 0, 1, [1n]), "events[0].moved.fromTier", "KV_TIER_UNSPECIFIED"],
  ];
  for (const [event, field, problem] of cases) {
    const err = decodeError(() => decodeRaw(rawKvEventBatch(header, [event])));
    assert.deepEqual([err.field, err.message.endsWith(`${field}: ${problem}`)], [field, true], err.message);
  }
  const removed = create(coordv1.KvEventBatchSchema, {
    workerId: "w1",
    epoch: 9n,
    firstSeq: 1n,
    events: [{ kind: { case: "removed", value: { component: kvv1.KvComponent.K, tier: kvv1.KvTier.UNSPECIFIED, blockHashes: [1n] } } }],
  });
  assert.equal(decodeError(() => decodeKvEventBatch(removed, FROM_W1)).field, "events[0].removed.tier");
});

test("kv-event-codec - a snapshot page with an UNSPECIFIED component or unknown tier is a decode error", () => {
  const page = (component: number, tier: number) =>
    create(coordv1.KvSnapshotResponseSchema, { workerId: "w1", epoch: 4n, asOfSeq: 8n, residency: [{ component: 1, tier: 1, blockHashes: [1n] }, { component, tier, blockHashes: [2n] }] });
  assert.equal(decodeError(() => decodeKvSnapshotPage(page(0, 1), SNAPSHOT_FROM_W1)).field, "residency[1].component");
  const err = decodeError(() => decodeKvSnapshotPage(page(2, 3), SNAPSHOT_FROM_W1));
  assert.deepEqual([err.field, err.epoch, err.subject], ["residency[1].tier", 4n, "sigmaserve.ctl.w1.snapshot"]);
});

test("kv-event-codec - another worker's id, or a seq beyond 2^53, is a decode error", () => {
  const batch = create(coordv1.KvEventBatchSchema, { workerId: "w2", epoch: 1n, firstSeq: 1n, events: [{ kind: { case: "cleared", value: {} } }] });
  assert.equal(decodeError(() => decodeKvEventBatch(batch, FROM_W1)).field, "workerId");
  batch.workerId = "w1";
  batch.firstSeq = 2n ** 53n;
  assert.equal(decodeError(() => decodeKvEventBatch(batch, FROM_W1)).field, "firstSeq");
  batch.firstSeq = 2n ** 53n - 1n;
  batch.events.push(batch.events[0]!);
  assert.equal(decodeError(() => decodeKvEventBatch(batch, FROM_W1)).field, "firstSeq + events.length - 1");
  const page = create(coordv1.KvSnapshotResponseSchema, { workerId: "w1", epoch: 1n, asOfSeq: 2n ** 64n - 1n });
  assert.equal(decodeError(() => decodeKvSnapshotPage(page, SNAPSHOT_FROM_W1)).field, "asOfSeq");
});

test("kv-event-codec - the encoder refuses seqs that the wire cannot carry", () => {
  const cleared = (seq: number) => ({ kind: "cleared" as const, seq });
  const refuse = (batch: KvEventBatch, field: string) =>
    assert.throws(() => encodeKvEventBatch(batch, 0n), (err: unknown) => err instanceof CoordArgumentError && err.field === field);
  refuse({ workerId: "w1", epoch: 1n, firstSeq: 5, events: [cleared(5), cleared(7)] }, "batch.events[1].seq");
  refuse({ workerId: "w1", epoch: 1n, firstSeq: 1.5, events: [] }, "batch.firstSeq");
  refuse({ workerId: "w1", epoch: 1n, firstSeq: -1, events: [] }, "batch.firstSeq");
  refuse({ workerId: "w1", epoch: 1n, firstSeq: 1, events: [{ kind: "stored", seq: 1, component: "x" as never, tier: "host", blockHashes: [] }] }, "batch.events[0].component");
  refuse({ workerId: "w1", epoch: 1n, firstSeq: 1, events: [{ kind: "evicted", seq: 1 } as never] }, "batch.events[0].kind");
  assert.throws(
    () => encodeKvSnapshotPage({ page: { workerId: "w1", epoch: 1n, asOfSeq: 0, residency: [{ component: "k", tier: "disk" as never, blockHashes: [] }] }, nextPageToken: "" }),
    (err: unknown) => err instanceof CoordArgumentError && err.field === "page.residency[0].tier",
  );
});
