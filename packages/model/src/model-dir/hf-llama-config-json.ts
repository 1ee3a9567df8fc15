/**
 * Our config as Hugging Face Llama `config.json` and `generation_config.json`:
 * the inverse of `fromHfLlamaConfig`, for the GQA case only (n_k = n_v, no
 * augmented Q), since Llama has one `num_key_value_heads` and no gated query.
 *
 * The fields are those transformers (and transformers.js, which reads
 * num_key_value_heads and head_dim to shape the empty first-step past) need
 * to build a LlamaForCausalLM; `torch_dtype` says what model.safetensors holds.
 */
import { ModelConfigError } from "../config/errors.js";
import { isGqa, type ModelConfig } from "../config/index.js";

export const GENERATION_CONFIG_FILE_NAME = "generation_config.json";

/** Llama's config.json for a GQA config; a DiffQKV config (n_k ≠ n_v or augmented Q) is refused. */
export function hfLlamaConfigJson(config: ModelConfig, options: { torchDtype?: string } = {}): Record<string, unknown> {
  if (!isGqa(config)) {
    throw new ModelConfigError([
      `num_key_heads: a Llama config.json needs n_k = n_v and no augmented Q (got n_k ${config.num_key_heads}, n_v ${config.num_value_heads}, aug_q_size ${config.aug_q_size})`,
    ]);
  }
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: config.hidden_size,
    intermediate_size: config.intermediate_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    num_key_value_heads: config.num_key_heads,
    head_dim: config.head_dim,
    hidden_act: "silu",
    vocab_size: config.vocab_size,
    max_position_embeddings: config.max_position_embeddings,
    rope_theta: config.rope_theta,
    rms_norm_eps: config.rms_norm_eps,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: config.tie_word_embeddings,
    ...(config.bos_token_id === undefined ? {} : { bos_token_id: config.bos_token_id }),
    ...(config.eos_token_id === undefined ? {} : { eos_token_id: config.eos_token_id }),
    torch_dtype: options.torchDtype ?? "float32",
  };
}

/** generation_config.json: the special ids and greedy decoding by default (what HF publishes beside a checkpoint). */
export function hfGenerationConfigJson(config: ModelConfig): Record<string, unknown> {
  return {
    ...(config.bos_token_id === undefined ? {} : { bos_token_id: config.bos_token_id }),
    ...(config.eos_token_id === undefined ? {} : { eos_token_id: config.eos_token_id }),
    do_sample: false,
  };
}
