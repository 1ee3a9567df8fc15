import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HfTokenizer } from "../tokenizer/index.js";
import { loadModelDir } from "./model-dir.js";
import { tinyLlamaSpecialId, tinyLlamaTokenizerConfig, tinyLlamaTokenizerJson, tinyLlamaVocabSize, writeTinyHfLlamaDir } from "./tiny-hf-llama.js";

test("tiny HF Llama - its BPE spells the merged words whole and everything else as bytes", () => {
  const lib = new HfLibTokenizer(tinyLlamaTokenizerJson(), tinyLlamaTokenizerConfig());
  const id = (token: string): number => lib.token_to_id(token) as number;
  assert.deepEqual(lib.encode("Hello world the", { add_special_tokens: false }).ids, [id("Hello"), id("Ġworld"), id("Ġthe")]);
  assert.deepEqual(lib.encode("Café", { add_special_tokens: true }).ids, [tinyLlamaSpecialId("<|begin_of_text|>"), id("CafÃ©")]);
  // "日本" is a merged prefix of 日本語; "人" (E4 BA BA) is not merged: three byte ids.
  assert.deepEqual(lib.encode("人", { add_special_tokens: false }).ids, [0xe4, 0xba, 0xba]);
  assert.equal(lib.encode("<|eot_id|>", { add_special_tokens: false }).ids[0], tinyLlamaSpecialId("<|eot_id|>"));
  assert.equal(lib.get_vocab(true).size, tinyLlamaVocabSize());
});

test("tiny HF Llama - the directory loads as a GQA model with its HF tokenizer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tiny-llama-"));
  try {
    await writeTinyHfLlamaDir(dir);
    const model = await loadModelDir(dir);
    assert.deepEqual([model.config.num_key_heads, model.config.num_value_heads, model.config.aug_q_size], [2, 2, 0]);
    assert.ok(model.tokenizer instanceof HfTokenizer);
    assert.equal(model.tokenizer.bosTokenId, tinyLlamaSpecialId("<|begin_of_text|>"));
    assert.equal(model.tokenizer.eosTokenId, tinyLlamaSpecialId("<|eot_id|>"));
    assert.equal(model.tokenizer.decode(model.tokenizer.encode("Café 日本語 👋🏽!\n", { addSpecialTokens: true })), "Café 日本語 👋🏽!\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
