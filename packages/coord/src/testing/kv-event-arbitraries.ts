/**
 * fast-check arbitraries of kvcache KV-event batches and snapshots, as a
 * worker's log and pool produce them: any event kind, component and tier,
 * 64-bit hashes over the whole u64 range (0 and 2^64 - 1 included), seqs up
 * to 2^53 - 1, and a parent hash present or absent (absent as a missing key,
 * the way the log leaves it out). Records have a plain prototype (fast-check
 * also makes null-prototype ones), as the decoder's output does, so deepEqual compares values.
 */
import fc from "fast-check";
import type { KvEvent, KvEventBatch, KvSnapshot } from "@sigmaserve/kvcache/events";

const MAX_U64 = 2n ** 64n - 1n;

export const componentArb = fc.constantFrom("k" as const, "v" as const);
export const tierArb = fc.constantFrom("device" as const, "host" as const);
export const blockHashArb = fc.oneof(fc.constantFrom(0n, 1n, 2n ** 63n, MAX_U64), fc.bigInt({ min: 0n, max: MAX_U64 }));
const hashesArb = fc.array(blockHashArb, { maxLength: 6 });

/** An event without its seq (the batch numbers them). */
const eventBodyArb = fc.oneof(
  fc
    .record({ component: componentArb, tier: tierArb, blockHashes: hashesArb, parentBlockHash: blockHashArb }, { requiredKeys: ["component", "tier", "blockHashes"], noNullPrototype: true })
    .map((body) => ({ kind: "stored" as const, ...body })),
  fc.record({ component: componentArb, tier: tierArb, blockHashes: hashesArb }).map((body) => ({ kind: "removed" as const, ...body })),
  fc.record({ component: componentArb, fromTier: tierArb, toTier: tierArb, blockHashes: hashesArb }).map((body) => ({ kind: "moved" as const, ...body })),
  fc.constant({ kind: "cleared" as const }),
);

export const epochArb = fc.oneof(fc.constantFrom(1n, MAX_U64), fc.bigInt({ min: 1n, max: MAX_U64 }));

/** A batch of `workerId` with 1 to 8 events numbered from a firstSeq anywhere in [1, 2^53 - 8]. */
export function kvEventBatchArb(workerId: string): fc.Arbitrary<KvEventBatch> {
  return fc
    .record({
      epoch: epochArb,
      firstSeq: fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER - 8), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 8 })),
      bodies: fc.array(eventBodyArb, { minLength: 1, maxLength: 8 }),
    })
    .map(({ epoch, firstSeq, bodies }) => ({
      workerId,
      epoch,
      firstSeq,
      events: bodies.map((body, i) => ({ ...body, seq: firstSeq + i }) as KvEvent),
    }));
}

/** A snapshot (page) of `workerId`: any groups in any order, repeated or empty, not only canonical ones; the codec carries them as they are. */
export function kvSnapshotArb(workerId: string): fc.Arbitrary<KvSnapshot> {
  return fc.record({
    workerId: fc.constant(workerId),
    epoch: epochArb,
    asOfSeq: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.nat()),
    residency: fc.array(fc.record({ component: componentArb, tier: tierArb, blockHashes: fc.array(blockHashArb, { maxLength: 20 }) }, { noNullPrototype: true }), { maxLength: 6 }),
  }, { noNullPrototype: true });
}
