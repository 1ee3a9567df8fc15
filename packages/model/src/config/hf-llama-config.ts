/**
 * A Hugging Face Llama-family config.json as the GQA special case.
 *
 * Llama has one `num_key_value_heads` for K and V (default: n_q, i.e. MHA),
 * `head_dim` defaults to hidden_size / n_q, and there is no augmented Q. A
 * config that already has `num_key_heads` is a DiffQKV config and is parsed
 * as is. Unknown keys (torch_dtype, rope_scaling, ...) are ignored.
 */
import { ModelConfigError } from "./errors.js";
import { parseModelConfig, type ModelConfig } from "./model-config.js";

/** Parses either a sigmaserve config or a Llama-family config.json. */
export function configFromJson(json: unknown, options?: { source?: string }): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelConfigError(["(root): must be a JSON object"], options?.source === undefined ? {} : { source: options.source });
  }
  const raw = json as Record<string, unknown>;
  if ("num_key_heads" in raw || "num_value_heads" in raw || raw["model_type"] === "sigma") return parseModelConfig(raw, options);
  return fromHfLlamaConfig(raw, options);
}

/** Maps Llama's fields onto ours: n_k = n_v = num_key_value_heads, aug_q_size = 0. */
export function fromHfLlamaConfig(raw: Record<string, unknown>, options?: { source?: string }): ModelConfig {
  const nQ = raw["num_attention_heads"];
  const hidden = raw["hidden_size"];
  const nKv = raw["num_key_value_heads"] ?? nQ;
  const headDim = raw["head_dim"] ?? (typeof hidden === "number" && typeof nQ === "number" && nQ > 0 ? hidden / nQ : undefined);
  return parseModelConfig(
    {
      model_type: "sigma",
      vocab_size: raw["vocab_size"],
      hidden_size: hidden,
      intermediate_size: raw["intermediate_size"],
      num_hidden_layers: raw["num_hidden_layers"],
      num_attention_heads: nQ,
      num_key_heads: nKv,
      num_value_heads: nKv,
      head_dim: headDim,
      aug_q_size: 0,
      rope_theta: raw["rope_theta"] ?? 10_000,
      rms_norm_eps: raw["rms_norm_eps"] ?? 1e-6,
      max_position_embeddings: raw["max_position_embeddings"],
      tie_word_embeddings: raw["tie_word_embeddings"] ?? false,
      bos_token_id: raw["bos_token_id"] ?? undefined,
      eos_token_id: raw["eos_token_id"] ?? undefined,
    },
    options,
  );
}
