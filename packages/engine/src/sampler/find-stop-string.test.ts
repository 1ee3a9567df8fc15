import * as assert from "node:assert/strict";
import { test } from "node:test";
import { findStopString, partialStopLength, truncateAtStop } from "./find-stop-string.js";

test("stop strings - the occurrence that ends first wins, whatever the list order", () => {
  assert.deepEqual(findStopString("a STOP b END", ["END", "STOP"]), { index: 2, stop: "STOP" });
  assert.deepEqual(findStopString("a STOP b END", ["STOP", "END"]), { index: 2, stop: "STOP" });
  // "Y" is complete before "XYZ" is: the text held a stop string as soon as "Y" arrived.
  assert.deepEqual(findStopString("XYZ", ["XYZ", "Y"]), { index: 1, stop: "Y" });
  // Same end: the one that starts first (the longer) wins.
  assert.deepEqual(findStopString("xab", ["b", "ab"]), { index: 1, stop: "ab" });
  assert.equal(findStopString("nothing here", ["END"]), undefined);
  assert.equal(findStopString("anything", []), undefined);
});

test("stop strings - the held-back tail is the longest suffix that a stop string starts with", () => {
  assert.equal(partialStopLength("the E", ["END"]), 1);
  assert.equal(partialStopLength("the EN", ["END"]), 2);
  // A complete stop string is not a proper prefix: nothing to hold (the match is found instead).
  assert.equal(partialStopLength("the END", ["END"]), 0);
  assert.equal(partialStopLength("ENx", ["END"]), 0);
  assert.equal(partialStopLength("aaa", ["aaab"]), 3);
  assert.equal(partialStopLength("xab", ["abc", "bcd", "b"]), 2);
  assert.equal(partialStopLength("", ["END"]), 0);
  assert.equal(partialStopLength("é", ["é!"]), 1);
});

test("stop strings - one-shot truncation cuts right before the match", () => {
  assert.equal(truncateAtStop("Hello END world", ["END"]), "Hello ");
  assert.equal(truncateAtStop("Hello world", ["END"]), "Hello world");
  assert.equal(truncateAtStop("END", ["END"]), "");
});
