import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PrefixOffsetDetokenizer } from "./prefix-offset-detokenizer.js";
import { splitIntoChunks, streamChunks } from "./testing/split-into-chunks.js";

/**
 * A SentencePiece-style toy: "▁" stands for a space, and the decode drops the
 * leading space of the whole text (like Metaspace/Strip), so decoding the new
 * ids alone would lose the space between words. Id 4 is a "half character"
 * that renders as U+FFFD until id 5 follows it, the way a split UTF-8
 * sequence does.
 */
const PIECES = ["▁hello", "▁world", "!", "▁", "<half>", "<rest>"];

function toyDecode(ids: readonly number[]): string {
  let text = "";
  ids.forEach((id, index) => {
    const piece = PIECES[id];
    if (piece === undefined) throw new RangeError(`no piece ${id}`);
    if (piece === "<half>") text += ids[index + 1] === 5 ? "" : "\uFFFD";
    else if (piece === "<rest>") text += ids[index - 1] === 4 ? "é" : "\uFFFD";
    else text += piece.replaceAll("▁", " ");
  });
  return text.startsWith(" ") ? text.slice(1) : text;
}

test("tokenizer - prefix offset keeps the space a leading-space-stripping decoder drops", () => {
  const detokenizer = new PrefixOffsetDetokenizer(toyDecode);
  assert.equal(detokenizer.push([0]), "hello");
  // Decoded alone, [1] is "world"; decoded after its context it is " world".
  assert.equal(toyDecode([1]), "world");
  assert.equal(detokenizer.push([1]), " world");
  assert.equal(detokenizer.push([2]), "!");
  assert.equal(detokenizer.flush(), "");
});

test("tokenizer - prefix offset waits while the text ends in U+FFFD", () => {
  const detokenizer = new PrefixOffsetDetokenizer(toyDecode);
  assert.equal(detokenizer.push([0, 4]), "");
  assert.equal(detokenizer.push([5]), "helloé");
  assert.equal(detokenizer.push([4]), "");
  assert.equal(detokenizer.flush(), "\uFFFD");
});

test("tokenizer - prefix offset leaves the stream untouched when a push is rejected", () => {
  const detokenizer = new PrefixOffsetDetokenizer(toyDecode);
  assert.equal(detokenizer.push([0]), "hello");
  assert.throws(() => detokenizer.push([1, 99]), RangeError);
  assert.equal(detokenizer.push([1]), " world");
});

test("tokenizer - prefix offset output equals one-shot decode for any split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: PIECES.length - 1 }), { maxLength: 24 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (ids, cuts) => {
        const streamed = streamChunks(new PrefixOffsetDetokenizer(toyDecode), splitIntoChunks(ids, cuts)).join("");
        assert.equal(streamed, toyDecode(ids));
      },
    ),
    { numRuns: 3_000 },
  );
});
