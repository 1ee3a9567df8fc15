import assert from "node:assert/strict";
import { test } from "node:test";
import { KvIndex } from "./kv-index.js";
import fc from "fast-check";
import { batchOf, storedKv } from "./testing/fixtures.js";
import { type Residency, bruteOverlap, foldEvents } from "./testing/reference-residency.js";

const EPOCH = 3n;
const [A, B, C, D] = [0xa0n, 0xb0n, 0xc0n, 0xd0n];

function overlapOf(matchedBlocks: number, deviceBlocks: number, hostBlocks: number, speculativeBlocks = 0, kDeviceVHostBlocks = 0) {
  return { matchedBlocks, deviceBlocks, hostBlocks, kDeviceVHostBlocks, speculativeBlocks };
}

test("kv-index overlap - counts only the leading blocks a worker holds, stopping at its first miss", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([A, B, C, D])));
  index.applyBatch(batchOf("w2", EPOCH, 1, storedKv([A, B, D]))); // lacks C: D does not count
  index.applyBatch(batchOf("w3", EPOCH, 1, storedKv([B, C, D]))); // lacks A: nothing counts
  assert.deepEqual(
    index.overlap([A, B, C, D]),
    new Map([
      ["w1", overlapOf(4, 4, 0)],
      ["w2", overlapOf(2, 2, 0)],
    ]),
  );
  // The walk may start anywhere: asked from B, w3 counts too.
  assert.deepEqual(
    index.overlap([B, C]),
    new Map([
      ["w1", overlapOf(2, 2, 0)],
      ["w2", overlapOf(1, 1, 0)],
      ["w3", overlapOf(2, 2, 0)],
    ]),
  );
  assert.deepEqual(index.overlap([]), new Map());
  assert.deepEqual(index.overlap([0xeen, A]), new Map());
});

test("kv-index overlap - a block matches when its K is resident; device only when K and V are both on the device", () => {
  const index = new KvIndex();
  index.applyBatch(
    batchOf("w1", EPOCH, 1, [
      ...storedKv([A], "device", "device"), // device hit
      ...storedKv([B], "device", "host"), // K on device, V on host: host hit (selective-V state)
      ...storedKv([C], "host", "host"), // both on host: host hit
      { kind: "stored", component: "v", tier: "device", blockHashes: [D] }, // V without K: not a match
    ]),
  );
  // B is also counted apart: on a selective-V worker it is ready to use (the selector decides).
  assert.deepEqual(index.overlap([A, B, C, D]).get("w1"), overlapOf(3, 1, 2, 0, 1));
  // K alone (its V not reported yet) still matches, as a host hit.
  index.applyBatch(batchOf("w2", EPOCH, 1, [{ kind: "stored", component: "k", tier: "device", blockHashes: [A] }]));
  assert.deepEqual(index.overlap([A]).get("w2"), overlapOf(1, 0, 1));
});

test("kv-index overlap - a demotion turns device hits into host hits and a removal of K cuts the prefix", () => {
  const index = new KvIndex();
  index.applyBatch(batchOf("w1", EPOCH, 1, storedKv([A, B, C])));
  index.applyBatch(batchOf("w1", EPOCH, 3, [{ kind: "moved", component: "v", fromTier: "device", toTier: "host", blockHashes: [A] }]));
  assert.deepEqual(index.overlap([A, B, C]).get("w1"), overlapOf(3, 2, 1, 0, 1));
  index.applyBatch(batchOf("w1", EPOCH, 4, [{ kind: "removed", component: "k", tier: "device", blockHashes: [B] }]));
  assert.deepEqual(index.overlap([A, B, C]).get("w1"), overlapOf(1, 0, 1, 0, 1));
});

test("kv-index overlap - many workers sharing a long prefix, with scattered demotions and holes, count exactly what a brute-force walk counts", () => {
  // Identical holder lists along a shared prefix are compared instead of walked (overlap.ts); this checks that
  // shortcut against the reference, with lists that diverge anywhere (a demoted V, a dropped K, a later store).
  const prefix = Array.from({ length: 40 }, (_, i) => 0x1000n + BigInt(i));
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ length: fc.integer({ min: 0, max: 40 }), demote: fc.array(fc.nat(39), { maxLength: 3 }), drop: fc.array(fc.nat(39), { maxLength: 2 }) }),
        { minLength: 1, maxLength: 30 },
      ),
      fc.integer({ min: 0, max: 39 }),
      (plans, from) => {
        const index = new KvIndex();
        const residencies = new Map<string, Residency>();
        plans.forEach((plan, w) => {
          const bodies = [
            ...storedKv(prefix.slice(0, plan.length)),
            ...plan.demote.map((i) => ({ kind: "moved" as const, component: "v" as const, fromTier: "device" as const, toTier: "host" as const, blockHashes: [prefix[i]!] })),
            ...plan.drop.map((i) => ({ kind: "removed" as const, component: "k" as const, tier: "device" as const, blockHashes: [prefix[i]!] })),
          ];
          if (bodies.length === 0) return;
          index.applyBatch(batchOf(`w${w}`, EPOCH, 1, bodies));
          residencies.set(`w${w}`, foldEvents(bodies));
        });
        const request = prefix.slice(from);
        assert.deepEqual(index.overlap(request), bruteOverlap(residencies, request));
      },
    ),
    { numRuns: 300 },
  );
});
