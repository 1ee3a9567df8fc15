import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compareCodePoints } from "./compare-code-points.js";

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

test("safetensors - names sort by code point, which is UTF-8 byte order, not UTF-16 order", () => {
  // UTF-16 puts the surrogate pair of 😀 (0xD83D…) before U+FFFF; code points do not.
  assert.deepEqual(["😀", "\uffff", "é", "b", "B", "10", "1"].sort(compareCodePoints), ["1", "10", "B", "b", "é", "\uffff", "😀"]);
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
      assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(compareUtf8(a, b)));
    }),
    { numRuns: 2_000 },
  );
});
