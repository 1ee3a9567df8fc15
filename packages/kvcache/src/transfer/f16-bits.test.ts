import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { f16BitsFromF32Bits, f16DecodeTable, f32BitsFromF16Bits } from "./f16-bits.js";
import { oracleF16Value, oracleNearestF16 } from "./testing/f16-oracle.js";

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
const bitsOf = (x: number): number => ((scratch[0] = x), scratchBits[0]!);
const valueOf = (bits: number): number => ((scratchBits[0] = bits), scratch[0]!);
const isF16NaN = (half: number): boolean => (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;

test("f16 - decoding every one of the 65536 patterns gives the value binary16 defines", () => {
  const table = f16DecodeTable();
  for (let half = 0; half < 0x10000; half++) {
    const expected = oracleF16Value(half);
    const decoded = valueOf(f32BitsFromF16Bits(half));
    assert.ok(Object.is(decoded, expected) || (Number.isNaN(decoded) && Number.isNaN(expected)), `0x${half.toString(16)}: ${decoded} vs ${expected}`);
    assert.equal(table[half], f32BitsFromF16Bits(half));
  }
});

test("f16 - every pattern survives decode then encode; NaNs stay NaN with their sign", () => {
  for (let half = 0; half < 0x10000; half++) {
    const again = f16BitsFromF32Bits(f32BitsFromF16Bits(half));
    if (isF16NaN(half)) {
      assert.ok(isF16NaN(again) && (again & 0x8000) === (half & 0x8000), `0x${half.toString(16)} → 0x${again.toString(16)}`);
    } else {
      assert.equal(again, half, `0x${half.toString(16)}`);
    }
  }
});

test("f16 - midpoints between neighbours round to the even pattern, one f32 ulp either side to the nearer", () => {
  for (let low = 0; low < 0x7bff; low++) {
    const midpoint = (oracleF16Value(low) + oracleF16Value(low + 1)) / 2; // exact in f32: 12 significant bits
    const midBits = bitsOf(midpoint);
    for (const sign of [0, 0x80000000]) {
      const even = low % 2 === 0 ? low : low + 1;
      assert.equal(f16BitsFromF32Bits((midBits | sign) >>> 0), even | (sign >>> 16), `tie above 0x${low.toString(16)}`);
      assert.equal(f16BitsFromF32Bits(((midBits - 1) | sign) >>> 0), low | (sign >>> 16));
      assert.equal(f16BitsFromF32Bits(((midBits + 1) | sign) >>> 0), (low + 1) | (sign >>> 16));
    }
  }
});

test("f16 - the edges: overflow at 65520, signed zeros, the smallest subnormal, Inf and NaN", () => {
  const cases: [number, number][] = [
    [65504, 0x7bff],
    [valueOf(bitsOf(65520) - 1), 0x7bff],
    [65520, 0x7c00],
    [1e9, 0x7c00],
    [-70000, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [Math.pow(2, -24), 0x0001],
    [Math.pow(2, -25), 0x0000],
    [valueOf(bitsOf(Math.pow(2, -25)) + 1), 0x0001],
    [-Math.pow(2, -26), 0x8000],
    [valueOf(1), 0x0000],
    [1 + Math.pow(2, -11), 0x3c00],
    [1 + 3 * Math.pow(2, -11), 0x3c02],
  ];
  for (const [x, half] of cases) assert.equal(f16BitsFromF32Bits(bitsOf(x)), half, String(x));
  assert.equal(f16BitsFromF32Bits(0x7f800001), 0x7e00, "a signalling NaN whose kept bits are zero stays NaN (quiet), not Inf");
  assert.equal(f16BitsFromF32Bits(0xffc00000), 0xfe00);
});

test("f16 - any f32 encodes to the nearest f16 by the oracle's search", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const expected = oracleNearestF16(valueOf(bits));
      const actual = f16BitsFromF32Bits(bits);
      if (expected === null) return isF16NaN(actual);
      return actual === expected;
    }),
    { numRuns: 50_000 },
  );
  // Random bit patterns are mostly outside f16's range; these are mostly inside it.
  fc.assert(
    fc.property(fc.float({ min: -70_000, max: 70_000, noNaN: true }), (x) => f16BitsFromF32Bits(bitsOf(x)) === oracleNearestF16(x)),
    { numRuns: 50_000 },
  );
});
