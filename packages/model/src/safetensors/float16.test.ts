import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeF16, encodeF16, f16BitsToF32, f32ToF16Bits, roundToF16 } from "./float16.js";
import { bitsOf } from "./testing/build-file.js";
import {
  F16_FORMAT,
  f32FromBitsSlow,
  f32Neighbourhood,
  infinityBits,
  miniFloatValue,
  nearestBits,
  positiveLadder,
} from "./testing/float-oracle.js";

const ALL_PATTERNS = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
const LADDER = positiveLadder(F16_FORMAT);
const F16_QUIET_NAN_BIT = 0x0200;

function isF16NaN(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00 && (bits & 0x03ff) !== 0;
}

/** What the encoder must give for `x`: nearest (ties to even), or a quiet NaN. */
function expectedF16(x: number): number | "nan" {
  return Number.isNaN(x) ? "nan" : nearestBits(F16_FORMAT, LADDER, x);
}

function checkEncode(x: number): void {
  const got = f32ToF16Bits(x);
  const expected = expectedF16(x);
  if (expected === "nan") assert.ok(isF16NaN(got) && (got & F16_QUIET_NAN_BIT) !== 0, `NaN gave 0x${got.toString(16)}`);
  else assert.equal(got, expected, `f32ToF16Bits(${x})`);
}

test("f16 - Math.f16round is missing on Node 20, so the oracle is a slow second implementation", () => {
  // When this starts failing (Node 22+), add Math.f16round as a second oracle.
  assert.equal(typeof (Math as unknown as Record<string, unknown>)["f16round"], "undefined");
});

test("f16 - named values encode to their textbook bit patterns", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff], // just under the overflow tie
    [65520, 0x7c00], // the tie between 65504 (odd) and 2^16 (even) overflows
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 goes to 0 (even)
    [2 ** -25 * 1.0001, 0x0001],
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units goes to 2 (even)
    [-0, 0x8000],
    [0, 0x0000],
  ];
  assert.deepEqual(
    cases.map(([x]) => f32ToF16Bits(x)),
    cases.map(([, bits]) => bits),
  );
});

test("f16 - every one of the 65536 patterns decodes to the textbook value", () => {
  const decoded = decodeF16(ALL_PATTERNS);
  const wrong: string[] = [];
  for (let bits = 0; bits < 0x10000; bits++) {
    const expected = miniFloatValue(F16_FORMAT, bits);
    for (const got of [decoded[bits] ?? 0, f16BitsToF32(bits)]) {
      const ok = Number.isNaN(expected) ? Number.isNaN(got) : Object.is(got, expected);
      if (!ok) wrong.push(`0x${bits.toString(16)}: ${got} != ${expected}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("f16 - decode then encode gives every pattern back, NaNs made quiet with their payload", () => {
  const back = encodeF16(decodeF16(ALL_PATTERNS));
  const wrong: string[] = [];
  for (let bits = 0; bits < 0x10000; bits++) {
    const expected = isF16NaN(bits) ? bits | F16_QUIET_NAN_BIT : bits;
    if (back[bits] !== expected) wrong.push(`0x${bits.toString(16)} -> 0x${back[bits]?.toString(16)}`);
    const scalar = f32ToF16Bits(f16BitsToF32(bits));
    if (isF16NaN(bits) ? !isF16NaN(scalar) : scalar !== bits) wrong.push(`scalar 0x${bits.toString(16)}`);
  }
  assert.deepEqual(wrong, []);
});

test("f16 - every midpoint between neighbours, and the f32 either side of it, rounds to nearest even", () => {
  for (let bits = 0; bits < infinityBits(F16_FORMAT); bits++) {
    const midpoint = ((LADDER[bits] ?? 0) + (LADDER[bits + 1] ?? 0)) / 2;
    assert.equal(Math.fround(midpoint), midpoint, "midpoints are f32 values");
    for (const x of f32Neighbourhood(midpoint)) {
      checkEncode(x);
      checkEncode(-x);
    }
  }
});

test("f16 - random f32 values round to the nearest f16, ties to even", () => {
  fc.assert(fc.property(fc.float(), (x) => checkEncode(x)), { numRuns: 20_000 });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => checkEncode(f32FromBitsSlow(bits))),
    { numRuns: 20_000 },
  );
  fc.assert(fc.property(fc.float({ min: -70_000, max: 70_000 }), (x) => checkEncode(x)), { numRuns: 20_000 });
});

test("f16 - the bulk encoder agrees with the scalar one and fills a given output", () => {
  const values = Float32Array.from([0.1, -65520, 2 ** -25, NaN, -0, 3.14159]);
  const out = new Uint16Array(values.length);
  assert.equal(encodeF16(values, out), out);
  assert.deepEqual([...out], [...values].map((x) => f32ToF16Bits(x)));
  assert.throws(() => encodeF16(values, new Uint16Array(2)), {
    name: "RangeError",
    message: "encodeF16: output has 2 elements, input has 6",
  });
});

test("f16 - roundToF16 is encode then decode, bit for bit", () => {
  fc.assert(
    fc.property(fc.float32Array({ maxLength: 64 }), (values) => {
      assert.deepEqual(bitsOf(roundToF16(values)), bitsOf(decodeF16(encodeF16(values))));
    }),
  );
  assert.deepEqual([...roundToF16(Float32Array.from([0.1, 70000, -0]))], [0.0999755859375, Infinity, -0]);
});
