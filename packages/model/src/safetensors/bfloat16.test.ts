import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bf16BitsToF32, decodeBf16, encodeBf16, f32ToBf16Bits, roundToBf16 } from "./bfloat16.js";
import { bitsOf } from "./testing/build-file.js";
import {
  BF16_FORMAT,
  f32FromBitsSlow,
  f32Neighbourhood,
  infinityBits,
  miniFloatValue,
  nearestBits,
  positiveLadder,
} from "./testing/float-oracle.js";

const ALL_PATTERNS = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
const LADDER = positiveLadder(BF16_FORMAT);
const BF16_QUIET_NAN_BIT = 0x0040;

function isBf16NaN(bits: number): boolean {
  return (bits & 0x7f80) === 0x7f80 && (bits & 0x007f) !== 0;
}

function checkEncode(x: number): void {
  const got = f32ToBf16Bits(x);
  if (Number.isNaN(x)) assert.ok(isBf16NaN(got) && (got & BF16_QUIET_NAN_BIT) !== 0, `NaN gave 0x${got.toString(16)}`);
  else assert.equal(got, nearestBits(BF16_FORMAT, LADDER, x), `f32ToBf16Bits(${x})`);
}

test("bf16 - named values encode to their textbook bit patterns", () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0.1, 0x3dcd],
    [1 / 3, 0x3eab],
    [3.4028234663852886e38, 0x7f80], // f32 max is past the last tie: overflows
    [3.3895313892515355e38, 0x7f7f], // largest finite bf16
    [-Infinity, 0xff80],
    [1 + 2 ** -8, 0x3f80], // tie, kept part even: stays
    [1 + 3 * 2 ** -8, 0x3f82], // tie, kept part odd: rounds up
    [2 ** -133, 0x0001], // smallest subnormal
    [2 ** -134, 0x0000], // tie to even zero
    [-0, 0x8000],
  ];
  assert.deepEqual(
    cases.map(([x]) => f32ToBf16Bits(x)),
    cases.map(([, bits]) => bits),
  );
});

test("bf16 - every one of the 65536 patterns decodes to the textbook value", () => {
  const decoded = decodeBf16(ALL_PATTERNS);
  const wrong: string[] = [];
  for (let bits = 0; bits < 0x10000; bits++) {
    const expected = miniFloatValue(BF16_FORMAT, bits);
    for (const got of [decoded[bits] ?? 0, bf16BitsToF32(bits)]) {
      const ok = Number.isNaN(expected) ? Number.isNaN(got) : Object.is(got, expected);
      if (!ok) wrong.push(`0x${bits.toString(16)}: ${got} != ${expected}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("bf16 - decode then encode gives every pattern back, NaNs made quiet with their payload", () => {
  const back = encodeBf16(decodeBf16(ALL_PATTERNS));
  const wrong: string[] = [];
  for (let bits = 0; bits < 0x10000; bits++) {
    const expected = isBf16NaN(bits) ? bits | BF16_QUIET_NAN_BIT : bits;
    if (back[bits] !== expected) wrong.push(`0x${bits.toString(16)} -> 0x${back[bits]?.toString(16)}`);
    const scalar = f32ToBf16Bits(bf16BitsToF32(bits));
    if (isBf16NaN(bits) ? !isBf16NaN(scalar) : scalar !== bits) wrong.push(`scalar 0x${bits.toString(16)}`);
  }
  assert.deepEqual(wrong, []);
});

test("bf16 - every midpoint between neighbours, and the f32 either side of it, rounds to nearest even", () => {
  for (let bits = 0; bits < infinityBits(BF16_FORMAT); bits++) {
    const midpoint = ((LADDER[bits] ?? 0) + (LADDER[bits + 1] ?? 0)) / 2;
    assert.equal(Math.fround(midpoint), midpoint, "midpoints are f32 values");
    for (const x of f32Neighbourhood(midpoint)) {
      checkEncode(x);
      checkEncode(-x);
    }
  }
});

test("bf16 - random f32 values round to the nearest bf16, ties to even", () => {
  fc.assert(fc.property(fc.float(), (x) => checkEncode(x)), { numRuns: 20_000 });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => checkEncode(f32FromBitsSlow(bits))),
    { numRuns: 20_000 },
  );
});

test("bf16 - a signalling NaN whose payload sits only in the dropped bits stays NaN, not Inf", () => {
  const signalling = Uint32Array.from([0x7f800001, 0xff800001]);
  const values = new Float32Array(signalling.buffer);
  assert.deepEqual([...encodeBf16(values)], [0x7fc0, 0xffc0]);
});

test("bf16 - roundToBf16 is encode then decode, bit for bit", () => {
  fc.assert(
    fc.property(fc.float32Array({ maxLength: 64 }), (values) => {
      assert.deepEqual(bitsOf(roundToBf16(values)), bitsOf(decodeBf16(encodeBf16(values))));
    }),
  );
  // 3e38 = 1.7635… × 2^127; 0.7635 × 128 = 97.7 rounds to a mantissa of 98.
  assert.deepEqual([...roundToBf16(Float32Array.from([0.1, 3e38, -0]))], [0.10009765625, (1 + 98 / 128) * 2 ** 127, -0]);
  assert.throws(() => decodeBf16(new Uint16Array(3), new Float32Array(1)), {
    name: "RangeError",
    message: "decodeBf16: output has 1 elements, input has 3",
  });
});
