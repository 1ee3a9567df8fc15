import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ModelConfigError } from "../config/errors.js";
import { eosTokenIds, parameterCount, presetConfig } from "../config/index.js";
import { HfTokenizer } from "../tokenizer/index.js";
import { hfLlamaConfigJson } from "./hf-llama-config-json.js";
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

test("tiny HF Llama - the llama-tiny preset's vocabulary and special ids are this tokenizer's", () => {
  const config = presetConfig("llama-tiny");
  assert.equal(config.vocab_size, tinyLlamaVocabSize());
  assert.equal(config.bos_token_id, tinyLlamaSpecialId("<|begin_of_text|>"));
  assert.deepEqual(eosTokenIds(config), [tinyLlamaSpecialId("<|end_of_text|>"), tinyLlamaSpecialId("<|eot_id|>")]);
  assert.equal(parameterCount(config).total, 11_579_904);
});

test("tiny HF Llama - a preset is written as Llama's config.json and loads back as the same GQA config", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llama-tiny-"));
  try {
    const written = await writeTinyHfLlamaDir(dir, { preset: "llama-tiny", numHiddenLayers: 1, seed: 4 });
    const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual([json["model_type"], json["num_key_value_heads"], json["head_dim"], json["num_hidden_layers"], json["tie_word_embeddings"]], ["llama", 2, 64, 1, false]);
    assert.deepEqual(JSON.parse(await readFile(join(dir, "generation_config.json"), "utf8")), { bos_token_id: 291, eos_token_id: [292, 295], do_sample: false });
    const model = await loadModelDir(dir);
    assert.deepEqual({ ...model.config }, { ...presetConfig("llama-tiny", { numHiddenLayers: 1 }) });
    assert.deepEqual({ ...written.config }, { ...model.config });
    for (const [name, tensor] of written.weights) assert.deepEqual(model.weights.get(name)!.data, tensor.data, name);
    assert.ok(model.tokenizer instanceof HfTokenizer);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tiny HF Llama - a preset with another vocabulary is refused with the field named", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llama-bad-"));
  try {
    await assert.rejects(writeTinyHfLlamaDir(dir, { preset: "sigma-tiny-gqa" }), (err: unknown) => err instanceof ModelConfigError && /vocab_size: the tiny BPE has 296 tokens, preset sigma-tiny-gqa says 259/.test(err.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tiny HF Llama - a DiffQKV config has no Llama config.json: one KV head count, no augmented Q", () => {
  assert.throws(() => hfLlamaConfigJson(presetConfig("sigma-tiny")), (err: unknown) => err instanceof ModelConfigError && /needs n_k = n_v and no augmented Q \(got n_k 1, n_v 4, aug_q_size 384\)/.test(err.message));
});
