/**
 * Sizes derived from a config: parameters, and KV-cache elements and bytes
 * per token. K and V are always reported apart, because DiffQKV makes them
 * differ (Sigma-1.5B: 256 K and 1024 V elements per token per layer).
 */
import type { ModelConfig } from "./model-config.js";

/** Storage dtypes of weights and KV rows, with their width in bytes. */
export const DTYPE_BYTES = { f32: 4, f16: 2, bf16: 2 } as const;
export type Dtype = keyof typeof DTYPE_BYTES;

/** K and V elements one token adds to the cache of one layer. */
export function kvElementsPerTokenPerLayer(config: ModelConfig): { k: number; v: number } {
  return { k: config.num_key_heads * config.head_dim, v: config.num_value_heads * config.head_dim };
}

/** K and V bytes one token adds to the cache, per layer and over all layers. */
export function kvBytesPerToken(config: ModelConfig, dtype: Dtype) {
  const { k, v } = kvElementsPerTokenPerLayer(config);
  const width = DTYPE_BYTES[dtype];
  const layers = config.num_hidden_layers;
  return {
    perLayer: { k: k * width, v: v * width, total: (k + v) * width },
    allLayers: { k: k * width * layers, v: v * width * layers, total: (k + v) * width * layers },
  };
}

/** Parameters of one layer's attention (q, augmented Q, k, v, o). */
function attentionParameters(config: ModelConfig): number {
  const qWidth = config.num_attention_heads * config.head_dim;
  const hidden = config.hidden_size;
  const augQ = config.aug_q_size > 0 ? 3 * qWidth * config.aug_q_size : 0;
  return hidden * qWidth + augQ + hidden * (config.num_key_heads + config.num_value_heads) * config.head_dim + qWidth * hidden;
}

/** Parameter count, split into the parts a reader compares. */
export function parameterCount(config: ModelConfig) {
  const hidden = config.hidden_size;
  const perLayer = attentionParameters(config) + 3 * hidden * config.intermediate_size + 2 * hidden;
  const embedding = config.vocab_size * hidden;
  const lmHead = config.tie_word_embeddings ? 0 : embedding;
  const layers = perLayer * config.num_hidden_layers;
  return { embedding, lmHead, perLayer, layers, finalNorm: hidden, total: embedding + lmHead + layers + hidden };
}
