/**
 * A tiny Llama checkpoint in the Hugging Face layout, for end-to-end tests of
 * a model that is not ours: `config.json` in Llama's own format (the GQA case:
 * one num_key_value_heads), `model.safetensors` under HF tensor names (random
 * weights from a seed), a real byte-level BPE `tokenizer.json` with merges,
 * and a `tokenizer_config.json` with Meta-Llama-3-8B-Instruct's chat template
 * and special tokens. Built by hand (no download, no Python), deterministic.
 *
 * The BPE: ids 0..255 are the 256 byte characters of GPT-2's byte-level map
 * (id = byte value), then merges that spell a few words whole (ASCII,
 * accented, CJK, emoji), each a chain of "prefix + next character" merges,
 * then Llama 3's special tokens as added tokens. Text outside those words
 * falls back to bytes, so every string encodes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelConfigError } from "../config/errors.js";
import { configFromJson, eosTokenIds, presetConfig, type ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { writeSafetensorsFile } from "../safetensors/index.js";
import { TOKENIZER_CONFIG_FILE_NAME, TOKENIZER_FILE_NAME, byteLevelAlphabet, byteLevelBpeTokenizerJson } from "../tokenizer/index.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { GENERATION_CONFIG_FILE_NAME, hfGenerationConfigJson, hfLlamaConfigJson } from "./hf-llama-config-json.js";
import { CONFIG_FILE_NAME, WEIGHTS_FILE_NAME } from "./model-dir.js";

/** Words the merges spell whole, in merge-rank order ("Ġ" is GPT-2's space). */
export const TINY_LLAMA_WORDS = ["Hello", " world", " the", "Café", " naïve", "日本語", " 👋", "!\n"] as const;

/** Llama 3's special tokens, in id order after the merged tokens. */
export const TINY_LLAMA_SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"] as const;

/** Meta-Llama-3-8B-Instruct's chat template, verbatim. */
export const LLAMA3_CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

/** The byte-level characters of `text`'s UTF-8. */
function byteChars(text: string): string[] {
  const alphabet = byteLevelAlphabet();
  return [...new TextEncoder().encode(text)].map((byte) => alphabet[byte] as string);
}

/** Merges (as "left right") and the vocabulary they imply after the 256 bytes. */
function tinyMerges(): { merges: string[]; merged: string[] } {
  const merges: string[] = [];
  const merged: string[] = [];
  const known = new Set(byteLevelAlphabet());
  for (const word of TINY_LLAMA_WORDS) {
    const chars = byteChars(word);
    let prefix = chars[0] as string;
    for (const next of chars.slice(1)) {
      const token = prefix + next;
      if (!known.has(token)) {
        merges.push(`${prefix} ${next}`);
        merged.push(token);
        known.add(token);
      }
      prefix = token;
    }
  }
  return { merges, merged };
}

/** The tokenizer.json object. */
export function tinyLlamaTokenizerJson(): Record<string, unknown> {
  const { merges, merged } = tinyMerges();
  const firstSpecial = 256 + merged.length;
  const specials = TINY_LLAMA_SPECIAL_TOKENS.map((content, i) => ({ id: firstSpecial + i, content }));
  return byteLevelBpeTokenizerJson({ merged, merges, specials, bos: specials[0]!, bosBeforeSecond: true, ignoreMerges: true });
}

/** The id of a special token by its text. */
export function tinyLlamaSpecialId(token: (typeof TINY_LLAMA_SPECIAL_TOKENS)[number]): number {
  return 256 + tinyMerges().merged.length + TINY_LLAMA_SPECIAL_TOKENS.indexOf(token);
}

/** Vocabulary size: bytes, merged tokens and specials. */
export function tinyLlamaVocabSize(): number {
  return 256 + tinyMerges().merged.length + TINY_LLAMA_SPECIAL_TOKENS.length;
}

/** tokenizer_config.json, as transformers writes it for Llama 3. */
export function tinyLlamaTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: "<|begin_of_text|>",
    eos_token: "<|eot_id|>",
    clean_up_tokenization_spaces: true,
    model_max_length: 256,
    chat_template: LLAMA3_CHAT_TEMPLATE,
  };
}

/** config.json in Llama's own format: 2 layers, 4 query heads sharing 2 KV heads. */
export function tinyLlamaConfigJson(): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    vocab_size: tinyLlamaVocabSize(),
    max_position_embeddings: 256,
    rope_theta: 500_000,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    bos_token_id: tinyLlamaSpecialId("<|begin_of_text|>"),
    eos_token_id: [tinyLlamaSpecialId("<|end_of_text|>"), tinyLlamaSpecialId("<|eot_id|>")],
    torch_dtype: "float32",
  };
}

export interface TinyHfLlamaOptions {
  /** Weight seed (default 0). */
  seed?: number;
  /** A GQA preset whose shape to write (e.g. `llama-tiny`); default: the 2-layer tinyLlamaConfigJson(). */
  preset?: string;
  /** Override the preset's layer count. */
  numHiddenLayers?: number;
}

/** The preset's config, checked against this tokenizer: same vocabulary size, BOS and EOS ids. */
function presetForTinyBpe(preset: string, numHiddenLayers: number | undefined, source: string): ModelConfig {
  const config = presetConfig(preset, numHiddenLayers === undefined ? {} : { numHiddenLayers });
  const expected = { vocab_size: tinyLlamaVocabSize(), bos_token_id: tinyLlamaSpecialId("<|begin_of_text|>"), eos_token_id: [tinyLlamaSpecialId("<|end_of_text|>"), tinyLlamaSpecialId("<|eot_id|>")] };
  const issues: string[] = [];
  if (config.vocab_size !== expected.vocab_size) issues.push(`vocab_size: the tiny BPE has ${expected.vocab_size} tokens, preset ${preset} says ${config.vocab_size}`);
  if (config.bos_token_id !== expected.bos_token_id) issues.push(`bos_token_id: the tiny BPE's <|begin_of_text|> is ${expected.bos_token_id}, preset ${preset} says ${config.bos_token_id}`);
  if (eosTokenIds(config).join(",") !== expected.eos_token_id.join(",")) issues.push(`eos_token_id: the tiny BPE's are ${expected.eos_token_id.join(", ")}, preset ${preset} says ${eosTokenIds(config).join(", ")}`);
  if (issues.length > 0) throw new ModelConfigError(issues, { source });
  return config;
}

/** Writes the checkpoint into `dir` (created if needed). Deterministic for a seed. Returns the config and weights written. */
export async function writeTinyHfLlamaDir(dir: string, options: TinyHfLlamaOptions = {}): Promise<{ config: ModelConfig; weights: TensorMap }> {
  const source = join(dir, CONFIG_FILE_NAME);
  let configJson: Record<string, unknown>;
  let config: ModelConfig;
  if (options.preset === undefined) {
    if (options.numHiddenLayers !== undefined) throw new ModelConfigError(["num_hidden_layers: a layer override needs a preset"], { source });
    configJson = tinyLlamaConfigJson();
    config = configFromJson(configJson, { source });
  } else {
    config = presetForTinyBpe(options.preset, options.numHiddenLayers, source);
    configJson = hfLlamaConfigJson(config);
  }
  const weights = makeDemoWeights(config, options.seed ?? 0);
  await mkdir(dir, { recursive: true });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(source, json(configJson), "utf8");
  await writeFile(join(dir, GENERATION_CONFIG_FILE_NAME), json(hfGenerationConfigJson(config)), "utf8");
  await writeSafetensorsFile(join(dir, WEIGHTS_FILE_NAME), weights, { dtype: "f32", metadata: { format: "pt" } });
  await writeFile(join(dir, TOKENIZER_FILE_NAME), json(tinyLlamaTokenizerJson()), "utf8");
  await writeFile(join(dir, TOKENIZER_CONFIG_FILE_NAME), json(tinyLlamaTokenizerConfig()), "utf8");
  return { config, weights };
}
