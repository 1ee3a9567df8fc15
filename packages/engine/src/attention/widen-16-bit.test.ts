import assert from "node:assert/strict";
import { test } from "node:test";
import { valueOfBits } from "./testing/element-bits.js";
import { f32BitsOfF16Bits, widenTable } from "./widen-16-bit.js";

test("attention - every bf16 and f16 pattern widens to the value the format defines, exactly", () => {
  for (const type of ["bf16", "f16"] as const) {
    const table = widenTable(type);
    for (let bits = 0; bits < 0x10000; bits++) {
      const expected = valueOfBits(bits, type);
      const got = table[bits]!;
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(got), `${type} ${bits.toString(16)}`);
      else assert.ok(Object.is(got, expected), `${type} ${bits.toString(16)}: ${got} vs ${expected}`);
    }
  }
  // Signs of zero, the smallest subnormal and the largest finite f16, as bit patterns.
  assert.equal(f32BitsOfF16Bits(0x8000), 0x80000000);
  assert.equal(f32BitsOfF16Bits(0x0001), 0x33800000);
  assert.equal(f32BitsOfF16Bits(0x7bff), 0x477fe000);
  assert.equal(f32BitsOfF16Bits(0xfc00), 0xff800000);
});
