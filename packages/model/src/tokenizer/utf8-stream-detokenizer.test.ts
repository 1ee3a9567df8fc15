import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BYTE_BOS_TOKEN_ID, BYTE_EOS_TOKEN_ID, ByteTokenizer } from "./byte-tokenizer.js";
import { InvalidTokenIdError } from "./errors.js";
import { splitIntoChunks, streamChunks } from "./testing/split-into-chunks.js";

const tokenizer = new ByteTokenizer();

/** Ids biased towards UTF-8 lead/continuation bytes and the BOM, so characters straddle chunks often. */
const byteTokenId = fc.oneof(
  fc.integer({ min: 0, max: 258 }),
  fc.constantFrom(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xef, 0xbb, 0xbf, 0xed, 0xa0),
);

test("tokenizer - byte detokenizer holds half of a multi-byte character", () => {
  const detokenizer = tokenizer.createDetokenizer();
  assert.equal(detokenizer.push([0xc3]), "");
  assert.equal(detokenizer.push([0xa9]), "é");
  assert.equal(detokenizer.flush(), "");
  // "😀" one byte at a time: nothing until the fourth byte.
  assert.deepEqual(
    [[0xf0], [0x9f], [0x98], [0x80]].map((chunk) => detokenizer.push(chunk)),
    ["", "", "", "😀"],
  );
});

test("tokenizer - byte detokenizer emits U+FFFD as soon as a sequence cannot complete", () => {
  const detokenizer = tokenizer.createDetokenizer();
  assert.equal(detokenizer.push([0xc3]), "");
  assert.equal(detokenizer.push([0x61]), "\uFFFDa");
  assert.equal(detokenizer.push([0xff]), "\uFFFD");
  assert.equal(detokenizer.push([0xf0, 0x9f]), "");
  // At the end of the stream the unfinished emoji is one U+FFFD, as decode([0xf0, 0x9f]) gives.
  assert.equal(detokenizer.flush(), "\uFFFD");
  assert.equal(tokenizer.decode([0xf0, 0x9f]), "\uFFFD");
});

test("tokenizer - byte detokenizer streams special tokens like decode", () => {
  const skipping = tokenizer.createDetokenizer();
  assert.deepEqual(streamChunks(skipping, [[BYTE_BOS_TOKEN_ID, 0x68], [0x69, BYTE_EOS_TOKEN_ID]]), ["h", "i", ""]);
  const showing = tokenizer.createDetokenizer({ skipSpecialTokens: false });
  assert.deepEqual(streamChunks(showing, [[BYTE_BOS_TOKEN_ID, 0x68], [0x69, BYTE_EOS_TOKEN_ID]]), ["<|bos|>h", "i<|eos|>", ""]);
});

test("tokenizer - byte detokenizer leaves the stream untouched when a push is rejected", () => {
  const detokenizer = tokenizer.createDetokenizer();
  assert.equal(detokenizer.push([0xc3]), "");
  assert.throws(() => detokenizer.push([0xa9, 999]), InvalidTokenIdError);
  assert.equal(detokenizer.push([0xa9]), "é");
});

test("tokenizer - byte detokenizer starts a new stream after flush", () => {
  const detokenizer = tokenizer.createDetokenizer();
  assert.equal(detokenizer.push([0xe2, 0x82]), "");
  assert.equal(detokenizer.flush(), "\uFFFD");
  assert.equal(detokenizer.push([0xac]), "\uFFFD");
  assert.equal(detokenizer.push([0xe2, 0x82, 0xac]), "€");
  assert.equal(detokenizer.flush(), "");
});

test("tokenizer - byte detokenizer output equals one-shot decode for any split", () => {
  fc.assert(
    fc.property(
      fc.array(byteTokenId, { maxLength: 48 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      (ids, cuts, skipSpecialTokens) => {
        const detokenizer = tokenizer.createDetokenizer({ skipSpecialTokens });
        const streamed = streamChunks(detokenizer, splitIntoChunks(ids, cuts)).join("");
        assert.equal(streamed, tokenizer.decode(ids, { skipSpecialTokens }));
      },
    ),
    { numRuns: 5_000 },
  );
});
