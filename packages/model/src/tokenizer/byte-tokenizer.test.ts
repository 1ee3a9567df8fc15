import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BYTE_BOS_TOKEN_ID,
  BYTE_EOS_TOKEN_ID,
  BYTE_PAD_TOKEN_ID,
  BYTE_VOCAB_SIZE,
  ByteTokenizer,
} from "./byte-tokenizer.js";
import { InvalidTokenIdError } from "./errors.js";

const tokenizer = new ByteTokenizer();

/** Lone surrogates, the only thing TextEncoder cannot encode, replaced the way it replaces them. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

test("tokenizer - byte tokenizer round-trips invalid UTF-8", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const ids = tokenizer.encodeBytes(bytes);
      assert.deepEqual(ids, [...bytes]);
      assert.deepEqual(tokenizer.decodeToBytes(ids), bytes);
    }),
    { numRuns: 5_000 },
  );
  // A truncated "é", a lone continuation byte, an encoded surrogate, 0xFF.
  const invalid = Uint8Array.of(0xc3, 0x80, 0xed, 0xa0, 0x80, 0xff);
  assert.deepEqual(tokenizer.decodeToBytes(tokenizer.encodeBytes(invalid)), invalid);
});

test("tokenizer - byte tokenizer round-trips every well-formed string", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 32 }), (text) => {
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
    }),
    { numRuns: 3_000 },
  );
  // A leading U+FEFF survives (the WHATWG decoder's default would strip it).
  assert.deepEqual(tokenizer.encode("\uFEFFé😀"), [0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(tokenizer.decode([0xef, 0xbb, 0xbf, 0x61]), "\uFEFFa");
});

test("tokenizer - byte tokenizer encodes a lone surrogate as U+FFFD", () => {
  assert.deepEqual(tokenizer.encode("a\uD800b"), [0x61, 0xef, 0xbf, 0xbd, 0x62]);
  assert.equal(tokenizer.decode(tokenizer.encode("a\uD800b\uDC00")), "a\uFFFDb\uFFFD");
  const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
  const unit = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), surrogate);
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 16 }), (text) => {
      assert.equal(tokenizer.decode(tokenizer.encode(text)), wellFormed(text));
    }),
    { numRuns: 2_000 },
  );
});

test("tokenizer - byte tokenizer decodes invalid UTF-8 to U+FFFD like the WHATWG decoder", () => {
  assert.equal(tokenizer.decode([0xc3, 0x61]), "\uFFFDa");
  assert.equal(tokenizer.decode([0xff]), "\uFFFD");
  assert.equal(tokenizer.decode([0xf0, 0x9f, 0x98]), "\uFFFD");
  assert.equal(tokenizer.decode([0xed, 0xa0, 0x80]), "\uFFFD\uFFFD\uFFFD");
  assert.equal(tokenizer.decode([]), "");
});

test("tokenizer - byte tokenizer skips special tokens unless asked to show them", () => {
  assert.deepEqual(tokenizer.encode("hi", { addSpecialTokens: true }), [BYTE_BOS_TOKEN_ID, 0x68, 0x69]);
  assert.deepEqual(tokenizer.encode("hi"), [0x68, 0x69]);
  const ids = [BYTE_BOS_TOKEN_ID, 0x68, 0x69, BYTE_EOS_TOKEN_ID, BYTE_PAD_TOKEN_ID];
  assert.equal(tokenizer.decode(ids), "hi");
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: false }), "<|bos|>hi<|eos|><|pad|>");
  assert.deepEqual(tokenizer.decodeToBytes(ids), Uint8Array.of(0x68, 0x69));
  // Skipped, a special token vanishes from the byte stream; shown, it ends the open character.
  assert.equal(tokenizer.decode([0xc3, BYTE_BOS_TOKEN_ID, 0xa9]), "é");
  assert.equal(tokenizer.decode([0xc3, BYTE_BOS_TOKEN_ID, 0xa9], { skipSpecialTokens: false }), "\uFFFD<|bos|>\uFFFD");
});

test("tokenizer - byte tokenizer rejects ids outside the vocabulary", () => {
  for (const id of [BYTE_VOCAB_SIZE, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => tokenizer.decode([0x61, id]),
      (error: unknown) =>
        error instanceof InvalidTokenIdError &&
        error.name === "InvalidTokenIdError" &&
        Object.is(error.tokenId, id) &&
        error.vocabSize === 259,
    );
  }
  assert.throws(() => tokenizer.decode([259]), { message: "token id 259 is not in the vocabulary (size 259)" });
});

test("tokenizer - byte tokenizer describes itself as sigmaserve-byte version 1", () => {
  assert.equal(tokenizer.kind, "byte");
  assert.equal(tokenizer.vocabSize, 259);
  assert.deepEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId], [256, 257, 258]);
  assert.equal(
    JSON.stringify(tokenizer.describe()),
    '{"type":"sigmaserve-byte","version":1,"vocab_size":259,"bos_token_id":256,"eos_token_id":257,"pad_token_id":258}',
  );
});
