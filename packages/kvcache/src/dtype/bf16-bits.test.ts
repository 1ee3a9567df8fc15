import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { oracleBf16Value, oracleNearestBf16 } from "../transfer/testing/bf16-oracle.js";
import { bf16BitsFromF32Bits, f32BitsFromBf16Bits } from "./bf16-bits.js";

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
const bitsOf = (x: number): number => ((scratch[0] = x), scratchBits[0]!);
const valueOf = (bits: number): number => ((scratchBits[0] = bits), scratch[0]!);
const isBf16NaN = (half: number): boolean => (half & 0x7f80) === 0x7f80 && (half & 0x7f) !== 0;

test("bf16 - widening every one of the 65536 patterns gives the value bfloat16 defines", () => {
  for (let half = 0; half < 0x10000; half++) {
    const expected = oracleBf16Value(half);
    const widened = valueOf(f32BitsFromBf16Bits(half));
    assert.ok(Object.is(widened, expected) || (Number.isNaN(widened) && Number.isNaN(expected)), `0x${half.toString(16)}: ${widened} vs ${expected}`);
  }
});

test("bf16 - every pattern survives widen then narrow; NaNs stay NaN with their sign", () => {
  for (let half = 0; half < 0x10000; half++) {
    const again = bf16BitsFromF32Bits(f32BitsFromBf16Bits(half));
    if (isBf16NaN(half)) assert.ok(isBf16NaN(again) && (again & 0x8000) === (half & 0x8000), `0x${half.toString(16)} → 0x${again.toString(16)}`);
    else assert.equal(again, half, `0x${half.toString(16)}`);
  }
});

test("bf16 - midpoints between neighbours round to the even pattern, one f32 ulp either side to the nearer", () => {
  for (let low = 0; low < 0x7f7f; low++) {
    const midpoint = (oracleBf16Value(low) + oracleBf16Value(low + 1)) / 2; // exact in f32: 9 significant bits
    const midBits = bitsOf(midpoint);
    for (const sign of [0, 0x80000000]) {
      const even = low % 2 === 0 ? low : low + 1;
      assert.equal(bf16BitsFromF32Bits((midBits | sign) >>> 0), even | (sign >>> 16), `tie above 0x${low.toString(16)}`);
      assert.equal(bf16BitsFromF32Bits(((midBits - 1) | sign) >>> 0), low | (sign >>> 16));
      assert.equal(bf16BitsFromF32Bits(((midBits + 1) | sign) >>> 0), (low + 1) | (sign >>> 16));
    }
  }
});

test("bf16 - the edges: overflow past the largest finite value, signed zeros, subnormals, Inf and NaN", () => {
  const largest = (2 - 2 ** -7) * 2 ** 127;
  const cases: [number, number][] = [
    [largest, 0x7f7f],
    [valueOf(bitsOf(2 ** 128 - 2 ** 119) - 1), 0x7f7f],
    [2 ** 128 - 2 ** 119, 0x7f80], // a tie with Inf, whose pattern is even
    [valueOf(0x7f7fffff), 0x7f80], // f32's largest finite value
    [-valueOf(0x7f7fffff), 0xff80],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [0, 0x0000],
    [-0, 0x8000],
    [valueOf(0x00010000), 0x0001], // the smallest bf16 subnormal
    [valueOf(0x00008000), 0x0000], // half of it: a tie with zero, which is even
    [valueOf(0x00008001), 0x0001],
    [valueOf(0x00018000), 0x0002], // 1.5 of it: a tie, to the even 2
    [1 + 2 ** -8, 0x3f80],
    [1 + 3 * 2 ** -8, 0x3f82],
    [-(1 + 2 ** -7), 0xbf81],
  ];
  for (const [x, half] of cases) assert.equal(bf16BitsFromF32Bits(bitsOf(x)), half, String(x));
  assert.equal(bf16BitsFromF32Bits(0x7f800001), 0x7fc0, "a signalling NaN whose kept bits are zero stays NaN (quiet), not Inf");
  assert.equal(bf16BitsFromF32Bits(0xffc00000), 0xffc0);
  assert.equal(bf16BitsFromF32Bits(0x7fffffff), 0x7fff, "a NaN with every payload bit keeps its top ones");
});

test("bf16 - any f32 narrows to the nearest bf16 by the oracle's search", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const expected = oracleNearestBf16(valueOf(bits));
      const actual = bf16BitsFromF32Bits(bits);
      if (expected === null) return isBf16NaN(actual);
      return actual === expected;
    }),
    { numRuns: 50_000 },
  );
  fc.assert(
    fc.property(fc.float({ min: -1000, max: 1000, noNaN: true }), (x) => bf16BitsFromF32Bits(bitsOf(x)) === oracleNearestBf16(x)),
    { numRuns: 50_000 },
  );
});
