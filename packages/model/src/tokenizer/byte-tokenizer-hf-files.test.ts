import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { byteTokenizerHfConfig, byteTokenizerHfJson, isByteTokenizerHfJson } from "./byte-tokenizer-hf-files.js";
import { HfTokenizer } from "./hf-tokenizer.js";
import { loadTokenizer, writeByteTokenizerHfFiles } from "./load-tokenizer.js";

/** ASCII, controls, accents, CJK, emoji (with ZWJ and skin tone), RTL, chat headers, long runs of spaces. */
const CORPUS = [
  "",
  "Hello, world!",
  "  leading and trailing spaces  ",
  "tabs\tand\nnewlines\r\n",
  "\u0000\u0001\u007f control bytes",
  "Café crème brûlée, naïve façade, Ångström",
  "日本語のテキスト、中文文本，한국어",
  "emoji 👋🏽 👩‍👩‍👧 🇫🇷 🚀",
  "مرحبا بالعالم שלום",
  "<|system|>\nYou are terse.\n<|user|>\nHi!\n<|assistant|>\n",
  "numbers 1234567890 and symbols ~!@#$%^&*()_+{}|:\"<>?",
  "I'm can't we've they'll",
];

test("tokenizer - @huggingface/tokenizers gives the byte tokenizer's ids from our tokenizer.json", () => {
  const lib = new HfLibTokenizer(byteTokenizerHfJson(), byteTokenizerHfConfig());
  const bytes = new ByteTokenizer();
  for (const text of CORPUS) {
    assert.deepEqual(lib.encode(text, { add_special_tokens: false }).ids, bytes.encode(text), JSON.stringify(text));
    assert.deepEqual(lib.encode(text, { add_special_tokens: true }).ids, bytes.encode(text, { addSpecialTokens: true }), JSON.stringify(text));
    if (text !== "") assert.equal(lib.decode(bytes.encode(text, { addSpecialTokens: true }), { skip_special_tokens: true }), text);
  }
  assert.equal(lib.token_to_id("<|bos|>"), 256);
  assert.equal(lib.token_to_id("<|eos|>"), 257);
  assert.equal(lib.token_to_id("<|pad|>"), 258);
  assert.equal(lib.get_vocab(true).size, 259);
});

test("tokenizer - our HfTokenizer over the byte tokenizer's files agrees with ByteTokenizer", () => {
  const hf = HfTokenizer.fromJson(byteTokenizerHfJson(), byteTokenizerHfConfig());
  const bytes = new ByteTokenizer();
  assert.deepEqual([hf.vocabSize, hf.bosTokenId, hf.eosTokenId, hf.padTokenId], [259, 256, 257, 258]);
  for (const text of CORPUS) assert.deepEqual(hf.encode(text, { addSpecialTokens: true }), bytes.encode(text, { addSpecialTokens: true }));
});

test("tokenizer - model dirs get HF files, read back as the byte tokenizer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "byte-hf-"));
  try {
    const paths = await writeByteTokenizerHfFiles(dir);
    const json: unknown = JSON.parse(await readFile(paths.tokenizer, "utf8"));
    assert.equal(isByteTokenizerHfJson(json), true);
    const config = JSON.parse(await readFile(paths.config, "utf8")) as Record<string, unknown>;
    assert.equal(config["bos_token"], "<|bos|>");
    assert.equal(typeof config["chat_template"], "string");
    const tokenizer = await loadTokenizer(dir);
    assert.ok(tokenizer instanceof ByteTokenizer);
    // Deterministic: writing again gives the same bytes.
    const before = await readFile(paths.tokenizer, "utf8");
    await writeByteTokenizerHfFiles(dir);
    assert.equal(await readFile(paths.tokenizer, "utf8"), before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tokenizer - an edited byte-level file is loaded as the HF tokenizer it now is", () => {
  const json = byteTokenizerHfJson();
  (json["model"] as { merges: string[] }).merges = ["h e"];
  (json["model"] as { vocab: Record<string, number> }).vocab["he"] = 259;
  assert.equal(isByteTokenizerHfJson(json), false);
});
