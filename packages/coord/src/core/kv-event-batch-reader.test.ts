import * as assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { KvEventBatch } from "@sigmaserve/kvcache/events";
import { coordv1 } from "@sigmaserve/proto";
import fc from "fast-check";
import { KvDecodeError } from "../errors.js";
import { kvEventBatchArb } from "../testing/kv-event-arbitraries.js";
import { rawClearedEvent, rawEmptyEvent, rawKvEventBatch, rawMovedEvent, rawStoredEvent, rawUnknownKindEvent } from "../testing/raw-kv-messages.js";
import { BLOCK_HASH_WORDS_PROPERTY, blockHashWordsOf, readKvEventBatch } from "./kv-event-batch-reader.js";
import { decodeKvEventBatch, encodeKvEventBatch } from "./kv-event-codec.js";

const FROM_W1 = { subject: "sigmaserve.kv.w1", workerId: "w1" };
const HEADER = { workerId: "w1", epoch: 9n, firstSeq: 3n };
const H = 0xfedc_ba98_7654_3210n;

/** The reference: the generated decoder, then the codec's checks. */
function reference(bytes: Uint8Array): KvEventBatch {
  return decodeKvEventBatch(fromBinary(coordv1.KvEventBatchSchema, bytes), FROM_W1);
}

/** The value, or the error's name, field and message: what a caller can observe. */
function outcome(decode: () => KvEventBatch): unknown {
  try {
    return decode();
  } catch (err) {
    return err instanceof KvDecodeError ? { error: err.name, field: err.field, message: err.message } : { error: String(err) };
  }
}

/** lo, hi words of each hash by BigInt arithmetic (independent of the reader's byte copy). */
function wordsByArithmetic(hashes: readonly bigint[]): number[] {
  return hashes.flatMap((h) => [Number(h & 0xffff_ffffn), Number(h >> 32n)]);
}

test("kv-event-batch-reader - random batches read exactly as the generated decoder reads them, hashes also as packed words", () => {
  fc.assert(
    fc.property(kvEventBatchArb("w1"), (batch) => {
      const bytes = toBinary(coordv1.KvEventBatchSchema, encodeKvEventBatch(batch, 1n));
      const read = readKvEventBatch(bytes, FROM_W1);
      for (const event of read.events) {
        if (event.kind === "cleared") continue;
        const words = blockHashWordsOf(event);
        assert.ok(words !== undefined, "the canonical encoding takes the fast path");
        assert.deepEqual([...words], wordsByArithmetic((batch.events[event.seq - batch.firstSeq] as { blockHashes: bigint[] }).blockHashes));
      }
      assert.deepEqual(read, reference(bytes));
      assert.deepEqual(read, batch);
    }),
    { numRuns: 300 },
  );
});

test("kv-event-batch-reader - blockHashes is built from the words on first read, once; assigning it drops the words", () => {
  const bytes = rawKvEventBatch(HEADER, [rawStoredEvent(1, 1, [H, 0n, 2n ** 64n - 1n])]);
  const event = readKvEventBatch(bytes, FROM_W1).events[0]!;
  assert.ok(event.kind === "stored");
  assert.deepEqual(Object.keys(event).sort(), ["blockHashes", "component", "kind", "seq", "tier"], "the words are not an enumerable key");
  assert.deepEqual(event.blockHashes, [H, 0n, 2n ** 64n - 1n]);
  assert.equal(event.blockHashes, event.blockHashes, "the same array on every read");
  event.blockHashes = [7n];
  assert.deepEqual(event.blockHashes, [7n]);
  assert.equal(blockHashWordsOf(event), undefined);
  assert.equal(BLOCK_HASH_WORDS_PROPERTY, "blockHashWords", "the name kv-index's block-hash-words.ts reads");
});

/** A KvEvent of kind `kind` whose body is written field by field, duplicates and all. */
function rawEvent(kind: number, write: (body: BinaryWriter) => BinaryWriter): Uint8Array {
  return new BinaryWriter().tag(kind, WireType.LengthDelimited).bytes(write(new BinaryWriter()).finish()).finish();
}

function packed(hashes: readonly bigint[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const h of hashes) writer.fixed64(h);
  return writer.finish();
}

test("kv-event-batch-reader - every non-canonical or broken message decodes, or fails, exactly as the generated decoder's", () => {
  const stored = (body: BinaryWriter) => body.tag(1, WireType.Varint).int32(1).tag(2, WireType.Varint).int32(1);
  const cases: [string, Uint8Array][] = [
    ["canonical, for contrast", rawKvEventBatch(HEADER, [rawStoredEvent(2, 1, [H, 5n]), rawMovedEvent(1, 2, 1, [7n]), rawClearedEvent()])],
    ["unknown event kind", rawKvEventBatch(HEADER, [rawStoredEvent(1, 1, [1n]), rawUnknownKindEvent(9)])],
    ["no event kind", rawKvEventBatch(HEADER, [rawEmptyEvent()])],
    ["UNSPECIFIED component", rawKvEventBatch(HEADER, [rawStoredEvent(0, 1, [1n])])],
    ["unknown tier", rawKvEventBatch(HEADER, [rawMovedEvent(2, 1, 5, [1n])])],
    ["negative enum", rawKvEventBatch(HEADER, [rawStoredEvent(-1, 1, [1n])])],
    ["hashes unpacked", rawKvEventBatch(HEADER, [rawEvent(1, (b) => stored(b).tag(3, WireType.Bit64).fixed64(H).tag(3, WireType.Bit64).fixed64(4n))])],
    ["hashes in two packed runs", rawKvEventBatch(HEADER, [rawEvent(1, (b) => stored(b).tag(3, WireType.LengthDelimited).bytes(packed([1n])).tag(3, WireType.LengthDelimited).bytes(packed([2n, H])))])],
    ["a packed run not a multiple of 8 bytes", rawKvEventBatch(HEADER, [rawEvent(1, (b) => stored(b).tag(3, WireType.LengthDelimited).bytes(new Uint8Array(12)))])],
    ["component twice (last wins)", rawKvEventBatch(HEADER, [rawEvent(1, (b) => stored(b).tag(1, WireType.Varint).int32(2).tag(3, WireType.LengthDelimited).bytes(packed([1n])))])],
    ["a parent hash", rawKvEventBatch(HEADER, [rawEvent(1, (b) => stored(b).tag(3, WireType.LengthDelimited).bytes(packed([1n])).tag(4, WireType.Bit64).fixed64(H))])],
    ["an unknown field inside a removed", rawKvEventBatch(HEADER, [rawEvent(2, (b) => stored(b).tag(3, WireType.LengthDelimited).bytes(packed([1n])).tag(4, WireType.Varint).int32(1))])],
    ["two kinds in one event", rawKvEventBatch(HEADER, [new Uint8Array([...rawStoredEvent(1, 1, [1n]), ...rawClearedEvent()])])],
    ["a non-empty cleared", rawKvEventBatch(HEADER, [rawEvent(4, (b) => b.tag(1, WireType.Varint).int32(1))])],
    ["an unknown top-level field", new Uint8Array([...rawKvEventBatch(HEADER, [rawClearedEvent()]), ...new BinaryWriter().tag(9, WireType.Varint).uint32(5).finish()])],
    ["epoch twice", new Uint8Array([...rawKvEventBatch(HEADER, [rawClearedEvent()]), ...new BinaryWriter().tag(2, WireType.Varint).uint64(10n).finish()])],
    ["another worker's id", rawKvEventBatch({ ...HEADER, workerId: "w2" }, [rawClearedEvent()])],
    ["a seq beyond 2^53", rawKvEventBatch({ ...HEADER, firstSeq: 2n ** 53n }, [rawClearedEvent()])],
    ["truncated", rawKvEventBatch(HEADER, [rawStoredEvent(1, 1, [H, 5n])]).subarray(0, 30)],
    ["not protobuf", new Uint8Array([0xff, 0xff, 0xff])],
  ];
  for (const [name, bytes] of cases) assert.deepEqual(outcome(() => readKvEventBatch(bytes, FROM_W1)), outcome(() => reference(bytes)), name);
});
