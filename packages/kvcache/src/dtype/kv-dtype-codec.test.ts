/**
 * The bulk converters against the arithmetic oracles: every pair of dtypes,
 * over values that cover both 16-bit ranges (f16 overflows at 65520 and goes
 * subnormal below 2^-14, where bf16 does neither).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KV_DTYPES, type KvDtype } from "../kv-types.js";
import { oracleBf16Value, oracleNearestBf16, oracleRoundBf16 } from "../transfer/testing/bf16-oracle.js";
import { oracleF16Value, oracleNearestF16, oracleRoundF16 } from "../transfer/testing/f16-oracle.js";
import { allocateArena, arenaMatchesDtype, convertArena, narrowF32Into, widenIntoF32 } from "./kv-dtype-codec.js";

const VALUES = Float32Array.from([0, -0, 1, -1, 1 + 2 ** -8, 1 + 2 ** -11, 3.14159, -2.71828, 65504, 65520, 1e6, -1e30, 2 ** -20, 2 ** -30, 1e-40, Infinity, -Infinity]);

const round = (dtype: KvDtype, x: number): number => (dtype === "f32" ? Math.fround(x) : dtype === "bf16" ? oracleRoundBf16(x) : oracleRoundF16(x));
const pattern = (dtype: "bf16" | "f16", x: number): number => (dtype === "bf16" ? oracleNearestBf16(x)! : oracleNearestF16(x)!);
const valueOfPattern = (dtype: "bf16" | "f16", half: number): number => (dtype === "bf16" ? oracleBf16Value(half) : oracleF16Value(half));

/** Values held in `arena` as `dtype`, by the oracle's reading of the patterns. */
function valuesOf(arena: Float32Array | Uint16Array, dtype: KvDtype): number[] {
  return dtype === "f32" ? Array.from(arena) : Array.from(arena, (half) => valueOfPattern(dtype, half));
}

test("kv dtype codec - narrowing rounds each f32 to the oracle's nearest pattern; widening is exact", () => {
  for (const dtype of ["bf16", "f16"] as const) {
    const narrow = new Uint16Array(VALUES.length + 2);
    narrowF32Into(dtype, VALUES, narrow, 2);
    assert.deepEqual(Array.from(narrow.subarray(2)), Array.from(VALUES, (x) => pattern(dtype, x)), dtype);
    const wide = new Float32Array(VALUES.length + 1).fill(7);
    widenIntoF32(dtype, narrow, 2, VALUES.length, wide, 1);
    assert.equal(wide[0], 7, "nothing before dstOffset is written");
    assert.deepEqual(Array.from(wide.subarray(1)), Array.from(VALUES, (x) => round(dtype, x)), dtype);
  }
});

test("kv dtype codec - every pair of dtypes converts as widen (exact) then one rounding into the target", () => {
  for (const from of KV_DTYPES) {
    const source = allocateArena(from, VALUES.length);
    convertArena(VALUES, "f32", source, from);
    for (const to of KV_DTYPES) {
      const target = allocateArena(to, VALUES.length);
      const converted = convertArena(source, from, target, to);
      assert.equal(converted, from !== to, `${from} → ${to} says whether it converted`);
      assert.ok(arenaMatchesDtype(target, to));
      const expected = valuesOf(source, from).map((x) => round(to, x));
      assert.deepEqual(valuesOf(target, to), expected, `${from} → ${to}`);
      if (from === to) assert.deepEqual(Array.from(target), Array.from(source), `${from} → ${to} copies the bits`);
    }
  }
});

test("kv dtype codec - an arena's array type is its dtype's: Float32Array iff f32", () => {
  assert.deepEqual(
    KV_DTYPES.map((dtype) => [dtype, arenaMatchesDtype(new Float32Array(1), dtype), arenaMatchesDtype(new Uint16Array(1), dtype)]),
    [
      ["f32", true, false],
      ["bf16", false, true],
      ["f16", false, true],
    ],
  );
});
