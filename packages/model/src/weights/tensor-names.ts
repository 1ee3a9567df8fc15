/**
 * The tensors a config implies, by name and shape.
 *
 * Names follow the Hugging Face Llama layout, plus augmented Q's
 * `self_attn.q_gate_proj / q_up_proj / q_down_proj`. Linear weights are
 * `[out_features, in_features]` (torch.nn.Linear); there are no biases.
 * With tied embeddings there is no `lm_head.weight`.
 */
import type { ModelConfig } from "../config/index.js";

/** Names of one layer's tensors. */
export function layerTensorNames(layer: number) {
  const prefix = `model.layers.${layer}`;
  return {
    inputNorm: `${prefix}.input_layernorm.weight`,
    qProj: `${prefix}.self_attn.q_proj.weight`,
    qGateProj: `${prefix}.self_attn.q_gate_proj.weight`,
    qUpProj: `${prefix}.self_attn.q_up_proj.weight`,
    qDownProj: `${prefix}.self_attn.q_down_proj.weight`,
    kProj: `${prefix}.self_attn.k_proj.weight`,
    vProj: `${prefix}.self_attn.v_proj.weight`,
    oProj: `${prefix}.self_attn.o_proj.weight`,
    postAttentionNorm: `${prefix}.post_attention_layernorm.weight`,
    gateProj: `${prefix}.mlp.gate_proj.weight`,
    upProj: `${prefix}.mlp.up_proj.weight`,
    downProj: `${prefix}.mlp.down_proj.weight`,
  };
}

export const EMBED_TOKENS = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

/** Name → shape of every tensor the config requires, in a stable order. */
export function expectedTensorShapes(config: ModelConfig): Map<string, readonly number[]> {
  const hidden = config.hidden_size;
  const qWidth = config.num_attention_heads * config.head_dim;
  const shapes = new Map<string, readonly number[]>();
  shapes.set(EMBED_TOKENS, [config.vocab_size, hidden]);
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = layerTensorNames(layer);
    shapes.set(names.inputNorm, [hidden]);
    shapes.set(names.qProj, [qWidth, hidden]);
    if (config.aug_q_size > 0) {
      shapes.set(names.qGateProj, [config.aug_q_size, qWidth]);
      shapes.set(names.qUpProj, [config.aug_q_size, qWidth]);
      shapes.set(names.qDownProj, [qWidth, config.aug_q_size]);
    }
    shapes.set(names.kProj, [config.num_key_heads * config.head_dim, hidden]);
    shapes.set(names.vProj, [config.num_value_heads * config.head_dim, hidden]);
    shapes.set(names.oProj, [hidden, qWidth]);
    shapes.set(names.postAttentionNorm, [hidden]);
    shapes.set(names.gateProj, [config.intermediate_size, hidden]);
    shapes.set(names.upProj, [config.intermediate_size, hidden]);
    shapes.set(names.downProj, [hidden, config.intermediate_size]);
  }
  shapes.set(FINAL_NORM, [hidden]);
  if (!config.tie_word_embeddings) shapes.set(LM_HEAD, [config.vocab_size, hidden]);
  return shapes;
}
