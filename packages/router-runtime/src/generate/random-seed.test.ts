import assert from "node:assert/strict";
import { test } from "node:test";
import { randomSeed } from "./random-seed.js";

test("random seed - distinct u64s across pool refills", () => {
  // 3 refills' worth: a stale pool (no refill) would repeat after 512.
  const seeds = Array.from({ length: 1536 }, () => randomSeed());
  assert.equal(new Set(seeds).size, seeds.length);
  assert.ok(seeds.every((seed) => seed >= 0n && seed < 2n ** 64n));
  // Both halves of the 64 bits are used (a 32-bit source would leave the high half 0).
  assert.ok(seeds.some((seed) => seed >= 2n ** 32n));
});
