import * as assert from "node:assert/strict";
import { test } from "node:test";
import { mix64, requestRandomU64, requestUniform } from "./request-rng.js";

const DRAWS = 100_000;

test("request rng - mix64 is SplitMix64's finaliser (first output of SplitMix64 seeded with 0)", () => {
  assert.equal(mix64(0x9e37_79b9_7f4a_7c15n), 0xe220_a839_7b1d_cdafn);
  assert.equal(mix64(0n), 0n);
});

test("request rng - golden draws pin the stream", () => {
  // Pinned values: changing the hash changes every seeded request, which breaks replay across versions.
  assert.deepEqual(
    [0, 1, 2].map((step) => requestRandomU64(0n, step)),
    [0xe220_a839_7b1d_cdafn, 0x6e78_9e6a_a1b9_65f4n, 0x06c4_5d18_8009_454fn],
  );
  assert.equal(requestUniform(0n, 0), Number(0xe220_a839_7b1d_cdafn >> 11n) / 2 ** 53);
});

test("request rng - uniforms on 100k draws have mean 1/2 and variance 1/12", () => {
  let sum = 0;
  let sumSquares = 0;
  let min = 1;
  let max = 0;
  for (let step = 0; step < DRAWS; step++) {
    const u = requestUniform(12_345n, step);
    sum += u;
    sumSquares += u * u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  const mean = sum / DRAWS;
  const variance = sumSquares / DRAWS - mean * mean;
  // The standard error of the mean is 0.29/√100k ≈ 0.0009; of the variance about 0.0003.
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
  assert.ok(min >= 0 && max < 1, `range [${min}, ${max}]`);
});

test("request rng - the draw of step k depends only on (seed, k), not on what was drawn before", () => {
  const seed = 0xdead_beef_cafe_f00dn;
  const inOrder = Array.from({ length: 64 }, (_, step) => requestUniform(seed, step));
  const backwards = Array.from({ length: 64 }, (_, i) => requestUniform(seed, 63 - i)).reverse();
  // Interleave another request's draws, as a shared batch would.
  const interleaved = Array.from({ length: 64 }, (_, step) => {
    requestUniform(7n, step * 3);
    return requestUniform(seed, step);
  });
  assert.deepEqual(backwards, inOrder);
  assert.deepEqual(interleaved, inOrder);
  // A worker resuming at step 40 draws what the first one would have.
  assert.equal(requestUniform(seed, 40), inOrder[40]);
});

test("request rng - nearby seeds give unrelated streams, not shifted copies", () => {
  const gamma = 0x9e37_79b9_7f4a_7c15n;
  assert.notEqual(requestUniform(1n, 0), requestUniform(2n, 0));
  // Plain SplitMix64 would make (s, k) equal (s + γ, k − 1); hashing the seed first prevents it.
  assert.notEqual(requestRandomU64(5n, 3), requestRandomU64(5n + gamma, 2));
});
