/**
 * Named model shapes.
 *
 * - `sigma-tiny`: the demo model. It keeps Sigma's head ratios
 *   (n_q : n_k : n_v = 8 : 1 : 4) and has augmented Q at 1.5× the Q width, as
 *   Sigma-1.5B does. Byte-level vocabulary (256 bytes + BOS, EOS, PAD).
 *   About 4.3M parameters: one CPU core decodes it at about 425 tokens/s (ORT stages, one thread).
 * - `sigma-tiny-gqa`: the twin with n_k = n_v = 4 and no augmented Q.
 * - `sigma-1.5b` / `std-1.5b`: the paper's shapes (Table 14): 26 layers,
 *   hidden 2048, 32/4/16 against 32/16/16 heads, head_dim 64, aug 3072,
 *   ffn 6144, vocab 128256, RoPE θ 50,000. For capacity planning and
 *   benchmarks, usually with a layer-count override.
 * - `llama-tiny`: a plain Llama (n_k = n_v, no augmented Q) for the peer
 *   benchmark against transformers.js on the same weights. Llama 3's shape in
 *   small: 8 Q heads sharing 2 KV heads of dim 64, SwiGLU at 2.75× hidden,
 *   RoPE θ 500,000, an untied lm_head, and the vocabulary of the tiny Hugging
 *   Face byte-level BPE (`writeTinyHfLlamaDir`: 256 bytes, 35 merged tokens,
 *   5 Llama 3 special tokens = 296 ids; a model-dir test pins these numbers).
 *   About 11.6M parameters (46 MB in f32): 23 MFLOP per decoded token, a
 *   couple of milliseconds of GEMV on one core, so a decode step is not all
 *   per-step overhead (sigma-tiny's 4.3M would be), while a bench still
 *   loads and runs it in seconds. Written as an HF-layout directory by
 *   `sigmaserve model make --preset llama-tiny`.
 * NOTE (sigma-1.5b): the paper states no context length; 65,536 covers its 64k experiments.
 */
import { UnknownPresetError } from "./errors.js";
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from "./model-config.js";

/** Byte tokenizer ids: 0..255 are bytes, then BOS, EOS, PAD. */
const BYTE_VOCAB = { vocab_size: 259, bos_token_id: 256, eos_token_id: 257 } as const;

const SIGMA_TINY: ModelConfigInput = {
  ...BYTE_VOCAB,
  hidden_size: 256,
  intermediate_size: 768,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_heads: 1,
  num_value_heads: 4,
  head_dim: 32,
  aug_q_size: 384,
  rope_theta: 50_000,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 2048,
  tie_word_embeddings: true,
};

const SIGMA_1_5B: ModelConfigInput = {
  vocab_size: 128_256,
  bos_token_id: 128_000,
  eos_token_id: 128_001,
  hidden_size: 2048,
  intermediate_size: 6144,
  num_hidden_layers: 26,
  num_attention_heads: 32,
  num_key_heads: 4,
  num_value_heads: 16,
  head_dim: 64,
  aug_q_size: 3072,
  rope_theta: 50_000,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 65_536,
  tie_word_embeddings: true,
};

/** The tiny HF byte-level BPE's ids (model-dir/tiny-hf-llama.ts): 296 tokens, <|begin_of_text|> 291, <|end_of_text|> 292, <|eot_id|> 295. */
const TINY_BPE_VOCAB = { vocab_size: 296, bos_token_id: 291, eos_token_id: [292, 295] };

const LLAMA_TINY: ModelConfigInput = {
  ...TINY_BPE_VOCAB,
  hidden_size: 512,
  intermediate_size: 1408,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_heads: 2,
  num_value_heads: 2,
  head_dim: 64,
  aug_q_size: 0,
  rope_theta: 500_000,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
};

const PRESETS = {
  "sigma-tiny": SIGMA_TINY,
  "sigma-tiny-gqa": { ...SIGMA_TINY, num_key_heads: 4, aug_q_size: 0 },
  "sigma-1.5b": SIGMA_1_5B,
  "std-1.5b": { ...SIGMA_1_5B, num_key_heads: 16, aug_q_size: 0 },
  "llama-tiny": LLAMA_TINY,
} satisfies Record<string, ModelConfigInput>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The GQA twin of each preset, for side-by-side figures. */
const GQA_TWIN: Record<PresetName, PresetName> = {
  "sigma-tiny": "sigma-tiny-gqa",
  "sigma-tiny-gqa": "sigma-tiny-gqa",
  "sigma-1.5b": "std-1.5b",
  "std-1.5b": "std-1.5b",
  "llama-tiny": "llama-tiny",
};

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** A preset's config, optionally with fewer (or more) layers for benchmarks. */
export function presetConfig(name: string, overrides: { numHiddenLayers?: number } = {}): ModelConfig {
  if (!isPresetName(name)) throw new UnknownPresetError(name, PRESET_NAMES);
  const input = { ...PRESETS[name], ...(overrides.numHiddenLayers === undefined ? {} : { num_hidden_layers: overrides.numHiddenLayers }) };
  return parseModelConfig(input, { source: `preset ${name}` });
}

/** The name of a preset's GQA twin (itself for a GQA preset). */
export function gqaTwinPreset(name: PresetName): PresetName {
  return GQA_TWIN[name];
}

/**
 * The GQA twin of any config: K gets as many heads as V and augmented Q is
 * removed; everything else is unchanged. For sigma-1.5b this is std-1.5b.
 */
export function gqaTwin(config: ModelConfig): ModelConfig {
  return parseModelConfig({ ...config, num_key_heads: config.num_value_heads, aug_q_size: 0 });
}
