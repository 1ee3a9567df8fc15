import * as assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { InvalidTokenIdError, TokenizerError } from "./errors.js";
import { byteLevelBpeTokenizerJson } from "./byte-tokenizer-hf-files.js";
import { HfTokenizer, loadHfTokenizer } from "./hf-tokenizer.js";
import { splitIntoChunks, streamChunks } from "./testing/split-into-chunks.js";
import {
  TINY_BOS_ID,
  TINY_EOS_ID,
  TINY_PAD_ID,
  TINY_VOCAB_SIZE,
  tinyByteLevelBpeJson,
  tinyTokenizerConfig,
} from "./testing/tiny-byte-level-bpe.js";

const tokenizer = HfTokenizer.fromJson(tinyByteLevelBpeJson(), tinyTokenizerConfig());

/** Ids biased towards the merges, the specials and the bytes of "é" and "€". */
const tinyTokenId = fc.oneof(
  fc.integer({ min: 0, max: TINY_VOCAB_SIZE - 1 }),
  fc.integer({ min: 256, max: TINY_VOCAB_SIZE - 1 }),
  fc.constantFrom(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x20, 0x2e),
);

test("tokenizer - hf tokenizer reads its special tokens from tokenizer_config.json", () => {
  assert.equal(tokenizer.kind, "hf");
  assert.equal(tokenizer.vocabSize, TINY_VOCAB_SIZE);
  // bos_token is an AddedToken object in the fixture, eos/pad plain strings.
  assert.deepEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.padTokenId], [TINY_BOS_ID, TINY_EOS_ID, TINY_PAD_ID]);
  assert.deepEqual(tokenizer.describe(), {
    type: "huggingface",
    vocab_size: 266,
    bos_token_id: 263,
    eos_token_id: 264,
    pad_token_id: 265,
  });
  assert.equal(tokenizer.tokenToId("</s>"), 264);
  assert.equal(tokenizer.idToToken(261), "Ġwo");
});

test("tokenizer - hf tokenizer encodes with merges and adds BOS only when asked", () => {
  assert.deepEqual(tokenizer.encode("hello world"), [259, 261, 0x72, 0x6c, 0x64]);
  assert.deepEqual(tokenizer.encode("hello wé"), [259, 260, 262]);
  assert.deepEqual(tokenizer.encode("hello", { addSpecialTokens: true }), [TINY_BOS_ID, 259]);
  assert.deepEqual(tokenizer.encode(""), []);
});

test("tokenizer - hf tokenizer decodes with and without special tokens", () => {
  const ids = [TINY_BOS_ID, 259, 261, 0x72, 0x6c, 0x64, TINY_EOS_ID];
  assert.equal(tokenizer.decode(ids), "hello world");
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: false }), "<s>hello world</s>");
  assert.equal(tokenizer.decode([]), "");
  assert.equal(tokenizer.decode([TINY_PAD_ID]), "");
  // Invalid UTF-8 from byte tokens becomes U+FFFD.
  assert.equal(tokenizer.decode([0xc3, 0x61]), "\uFFFDa");
});

test("tokenizer - hf tokenizer never cleans up tokenization spaces", () => {
  // The fixture's config asks for clean-up; we decline so streams match one-shot decodes.
  assert.equal(tokenizer.decode(tokenizer.encode("hello , world .")), "hello , world .");
});

test("tokenizer - hf tokenizer round-trips every well-formed string", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 24 }), (text) => {
      // skipSpecialTokens: false so that a "<s>" typed in the text survives.
      assert.equal(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: false }), text);
    }),
    { numRuns: 1_000 },
  );
});

test("tokenizer - hf tokenizer rejects ids outside the vocabulary", () => {
  for (const id of [TINY_VOCAB_SIZE, -1, 2.5]) {
    assert.throws(
      () => tokenizer.decode([259, id]),
      (error: unknown) => error instanceof InvalidTokenIdError && Object.is(error.tokenId, id) && error.vocabSize === 266,
    );
  }
});

test("tokenizer - hf detokenizer holds half of a multi-byte character", () => {
  const detokenizer = tokenizer.createDetokenizer();
  assert.equal(detokenizer.push([0xc3]), "");
  assert.equal(detokenizer.push([0xa9]), "é");
  assert.equal(detokenizer.push([259, 261]), "hello wo");
  assert.equal(detokenizer.push([0xe2, 0x82]), "");
  assert.equal(detokenizer.flush(), "\uFFFD");
});

test("tokenizer - hf detokenizer output equals one-shot decode for any split", () => {
  fc.assert(
    fc.property(
      fc.array(tinyTokenId, { maxLength: 32 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.boolean(),
      (ids, cuts, skipSpecialTokens) => {
        const detokenizer = tokenizer.createDetokenizer({ skipSpecialTokens });
        const streamed = streamChunks(detokenizer, splitIntoChunks(ids, cuts)).join("");
        assert.equal(streamed, tokenizer.decode(ids, { skipSpecialTokens }));
      },
    ),
    { numRuns: 2_000 },
  );
});

test("tokenizer - hf tokenizer takes tokenizer.json as text and fills in missing sections", () => {
  const { normalizer: _n, pre_tokenizer: _p, post_processor: _pp, added_tokens: _a, ...bare } = tinyByteLevelBpeJson();
  const fromText = HfTokenizer.fromJson(JSON.stringify(bare));
  assert.equal(fromText.vocabSize, 263);
  assert.equal(fromText.bosTokenId, undefined);
  // No post-processor any more, so asking for special tokens adds none.
  assert.deepEqual(fromText.encode("hello", { addSpecialTokens: true }), [259]);
});

test("tokenizer - hf tokenizer names the input and field that is wrong", () => {
  assert.throws(() => HfTokenizer.fromJson("{"), (error: unknown) =>
    error instanceof TokenizerError && error.source === "tokenizer.json" && error.message.startsWith("tokenizer.json: is not valid JSON"),
  );
  assert.throws(() => HfTokenizer.fromJson({ version: "1.0" }), {
    name: "TokenizerError",
    message: 'tokenizer.json: has no "model" object, so it is not a Hugging Face tokenizer.json',
  });
  assert.throws(() => HfTokenizer.fromJson({ model: { type: "Nope" } }), {
    name: "TokenizerError",
    message: "tokenizer.json: rejected by @huggingface/tokenizers: Unknown TokenizerModel type: Nope",
  });
  assert.throws(() => HfTokenizer.fromJson(tinyByteLevelBpeJson(), { eos_token: "<|eot_id|>" }), {
    name: "TokenizerError",
    message: 'tokenizer_config.json: "eos_token" "<|eot_id|>" is not in the vocabulary',
  });
  assert.throws(() => HfTokenizer.fromJson(tinyByteLevelBpeJson(), { bos_token: 7 }), {
    message: 'tokenizer_config.json: "bos_token" must be a string, an AddedToken object with "content", or null',
  });
  assert.throws(() => HfTokenizer.fromJson([]), { message: "tokenizer.json: must be a JSON object" });
});

test("tokenizer - loadHfTokenizer reads tokenizer.json and the optional config", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-hf-tokenizer-"));
  try {
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tinyByteLevelBpeJson()));
    const withoutConfig = await loadHfTokenizer(dir);
    assert.equal(withoutConfig.eosTokenId, undefined);
    await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(tinyTokenizerConfig()));
    const withConfig = await loadHfTokenizer(dir);
    assert.equal(withConfig.eosTokenId, TINY_EOS_ID);
    assert.deepEqual(withConfig.encode("hello"), [259]);
    await writeFile(join(dir, "tokenizer_config.json"), '{"eos_token": "</x>"}');
    await assert.rejects(loadHfTokenizer(dir), {
      message: `${join(dir, "tokenizer_config.json")}: "eos_token" "</x>" is not in the vocabulary`,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tokenizer - hf maxTokenBytes bounds the bytes of any text per token, so a prompt can be sized before it is tokenized", () => {
  // The fixture's longest entries: the added tokens ("</s>", "<pad>": 5 bytes) outrun its merges.
  assert.equal(tokenizer.maxTokenBytes, 5);
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 64 }), (text) => {
      assert.ok(tokenizer.encode(text).length * tokenizer.maxTokenBytes >= Buffer.byteLength(text));
    }),
    { numRuns: 1_000 },
  );
});

test("tokenizer - hf tokenizer with holes in its ids (a merge's id after the specials) builds, and its bound counts only real entries", () => {
  const specials = [{ id: 259, content: "<|begin|>" }];
  const sparse = HfTokenizer.fromJson(byteLevelBpeTokenizerJson({ merged: ["Ġt"], merges: ["Ġ t"], specials, bos: specials[0]! }));
  // "<|begin|>" (9 bytes) is the longest entry; the byte-level entries are 1-2 bytes, "Ġt" 3.
  assert.equal(sparse.maxTokenBytes, 9);
  assert.equal(sparse.vocabSize, 260);
});
