import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { KV_COMPONENTS, KV_TIERS } from "../kv-types.js";
import { buildSnapshot, type KvResidencyEntry } from "./build-snapshot.js";
import { DEFAULT_SNAPSHOT_PAGE_MAX_HASHES, mergeSnapshotPages, pageSnapshot } from "./snapshot-pages.js";

test("kvcache events - buildSnapshot groups by component and tier in a fixed order, sorts and dedupes hashes", () => {
  const entries: KvResidencyEntry[] = [
    { component: "v", tier: "host", blockHash: 5n },
    { component: "k", tier: "device", blockHash: 2n ** 64n - 1n },
    { component: "k", tier: "device", blockHash: 3n },
    { component: "v", tier: "host", blockHash: 1n },
    { component: "k", tier: "device", blockHash: 3n },
    { component: "k", tier: "host", blockHash: 0n },
  ];
  assert.deepEqual(buildSnapshot("w1", 7n, 12, entries), {
    workerId: "w1",
    epoch: 7n,
    asOfSeq: 12,
    residency: [
      { component: "k", tier: "device", blockHashes: [3n, 2n ** 64n - 1n] },
      { component: "k", tier: "host", blockHashes: [0n] },
      { component: "v", tier: "host", blockHashes: [1n, 5n] },
    ],
  });
  // Any order of the same entries gives the same snapshot.
  assert.deepEqual(buildSnapshot("w1", 7n, 12, [...entries].reverse()), buildSnapshot("w1", 7n, 12, entries));
});

test("kvcache events - an empty cache is a snapshot with no groups and one page", () => {
  const snapshot = buildSnapshot("w1", 7n, 0, []);
  assert.deepEqual(snapshot.residency, []);
  assert.deepEqual(pageSnapshot(snapshot), [snapshot]);
  assert.deepEqual(mergeSnapshotPages(pageSnapshot(snapshot)), snapshot);
});

test("kvcache events - pages hold at most maxHashes hashes and split a group where they must", () => {
  const entries: KvResidencyEntry[] = [1n, 2n, 3n].map((blockHash) => ({ component: "k", tier: "device", blockHash }));
  entries.push({ component: "v", tier: "device", blockHash: 4n }, { component: "v", tier: "device", blockHash: 5n });
  const pages = pageSnapshot(buildSnapshot("w1", 7n, 3, entries), 2);
  assert.deepEqual(
    pages.map((page) => page.residency),
    [
      [{ component: "k", tier: "device", blockHashes: [1n, 2n] }],
      [
        { component: "k", tier: "device", blockHashes: [3n] },
        { component: "v", tier: "device", blockHashes: [4n] },
      ],
      [{ component: "v", tier: "device", blockHashes: [5n] }],
    ],
  );
  for (const page of pages) assert.deepEqual([page.workerId, page.epoch, page.asOfSeq], ["w1", 7n, 3]);
});

test("kvcache events - the default page of 32768 hashes is 256 KiB of fixed64", () => {
  assert.equal(DEFAULT_SNAPSHOT_PAGE_MAX_HASHES * 8, 256 * 1024);
  const entries = Array.from({ length: DEFAULT_SNAPSHOT_PAGE_MAX_HASHES + 1 }, (_, i): KvResidencyEntry => ({ component: "k", tier: "host", blockHash: BigInt(i) }));
  const pages = pageSnapshot(buildSnapshot("w1", 1n, 1, entries));
  assert.deepEqual(pages.map((page) => page.residency[0]?.blockHashes.length), [DEFAULT_SNAPSHOT_PAGE_MAX_HASHES, 1]);
});

test("kvcache events - random snapshots round-trip through pages of any size, in any page order", () => {
  const entryArb = fc.record({
    component: fc.constantFrom(...KV_COMPONENTS),
    tier: fc.constantFrom(...KV_TIERS),
    blockHash: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  });
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 60 }), fc.integer({ min: 1, max: 70 }), fc.nat(), (entries, maxHashes, rotate) => {
      const snapshot = buildSnapshot("w1", 9n, 4, entries);
      const pages = pageSnapshot(snapshot, maxHashes);
      const total = snapshot.residency.reduce((sum, group) => sum + group.blockHashes.length, 0);
      assert.equal(pages.length, Math.max(1, Math.ceil(total / maxHashes)));
      for (const page of pages) assert.ok(page.residency.reduce((sum, group) => sum + group.blockHashes.length, 0) <= maxHashes);
      const shift = rotate % pages.length;
      assert.deepEqual(mergeSnapshotPages([...pages.slice(shift), ...pages.slice(0, shift)]), snapshot);
    }),
    { numRuns: 200 },
  );
});

test("kvcache events - pages of different snapshots are refused when merged", () => {
  const a = pageSnapshot(buildSnapshot("w1", 9n, 4, [{ component: "k", tier: "host", blockHash: 1n }]));
  const b = pageSnapshot(buildSnapshot("w1", 9n, 5, [{ component: "k", tier: "host", blockHash: 2n }]));
  assert.throws(() => mergeSnapshotPages([...a, ...b]), {
    name: "KvSnapshotError",
    message: "KV snapshot: page 1 is of w1 epoch 9 as of 5, page 0 of w1 epoch 9 as of 4",
  });
  assert.throws(() => mergeSnapshotPages([]), { name: "KvSnapshotError", message: "KV snapshot: no pages to merge" });
});

test("kvcache events - bad snapshot arguments throw KvEventArgumentError naming them", () => {
  assert.throws(() => buildSnapshot("", 1n, 0, []), { name: "KvEventArgumentError", argument: "workerId" });
  assert.throws(() => buildSnapshot("w", 0n, 0, []), { argument: "epoch" });
  assert.throws(() => buildSnapshot("w", 1n, -1, []), { argument: "asOfSeq" });
  assert.throws(() => buildSnapshot("w", 1n, 0, [{ component: "k", tier: "host", blockHash: -2n }]), { argument: "residency[0].blockHash" });
  assert.throws(() => pageSnapshot(buildSnapshot("w", 1n, 0, []), 0), { argument: "maxHashes" });
});
