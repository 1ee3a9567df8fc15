/**
 * The reference forward pass: the oracle every optimised path is tested
 * against. Naive on purpose: whole sequence, no cache, loops that read like
 * the paper's equations.
 *
 * Per layer: x → RMSNorm → q = q_proj; with augmented Q,
 * q = q_down(silu(q_gate(q)) · q_up(q)); k = k_proj, v = v_proj → RoPE on q
 * and k → causal attention where Q head i reads K head floor(i·n_k/n_q) and
 * V head floor(i·n_v/n_q), scale 1/sqrt(head_dim) → o_proj → residual →
 * RMSNorm → SwiGLU MLP → residual. Then the final RMSNorm and lm_head (or the
 * tied embedding).
 */
import { keyHeadFor, valueHeadFor, type ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerTensorNames } from "../weights/tensor-names.js";
import { applyRope, gatedMlp, linear, rmsNorm } from "./reference-ops.js";

export interface ReferenceOptions {
  /** Position of the first token (default 0): the rest follow consecutively. */
  startPosition?: number;
  /** Also return each layer's K (after RoPE) and V. */
  returnKv?: boolean;
}

export interface ReferenceResult {
  /** Logits for every position: [tokens, vocab_size], row-major. */
  logits: Float32Array;
  /** Per layer, K after RoPE as [tokens, n_k, head_dim] (when returnKv). */
  keys?: Float32Array[];
  /** Per layer, V as [tokens, n_v, head_dim] (when returnKv). */
  values?: Float32Array[];
}

function tensor(weights: TensorMap, name: string): Float32Array {
  const found = weights.get(name);
  if (found === undefined) throw new Error(`reference forward: weight ${name} is missing (validate weights first)`);
  return found.data;
}

/**
 * Causal attention with DiffQKV head mapping. q: [T, n_q, d], k: [T, n_k, d],
 * v: [T, n_v, d] → [T, n_q, d]. Position t attends to 0..t.
 */
export function causalAttention(config: ModelConfig, q: Float32Array, k: Float32Array, v: Float32Array, tokens: number): Float32Array {
  const { num_attention_heads: nQ, num_key_heads: nK, num_value_heads: nV, head_dim: d } = config;
  const out = new Float32Array(tokens * nQ * d);
  const scale = 1 / Math.sqrt(d);
  const scores = new Float64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    for (let head = 0; head < nQ; head++) {
      const kHead = keyHeadFor(config, head);
      const vHead = valueHeadFor(config, head);
      const qBase = (t * nQ + head) * d;
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        const kBase = (s * nK + kHead) * d;
        for (let i = 0; i < d; i++) dot += q[qBase + i]! * k[kBase + i]!;
        scores[s] = dot * scale;
        if (scores[s]! > max) max = scores[s]!;
      }
      let total = 0;
      for (let s = 0; s <= t; s++) {
        scores[s] = Math.exp(scores[s]! - max);
        total += scores[s]!;
      }
      for (let i = 0; i < d; i++) {
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += scores[s]! * v[(s * nV + vHead) * d + i]!;
        out[qBase + i] = sum / total;
      }
    }
  }
  return out;
}

/** Runs the whole model over `tokenIds` and returns logits at every position. */
export function referenceForward(config: ModelConfig, weights: TensorMap, tokenIds: readonly number[], options: ReferenceOptions = {}): ReferenceResult {
  const tokens = tokenIds.length;
  const hidden = config.hidden_size;
  const { num_attention_heads: nQ, num_key_heads: nK, num_value_heads: nV, head_dim: d } = config;
  const start = options.startPosition ?? 0;
  const positions = Array.from({ length: tokens }, (_, t) => start + t);
  const embed = tensor(weights, EMBED_TOKENS);

  let x = new Float32Array(tokens * hidden);
  tokenIds.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocab_size) throw new RangeError(`token ${t} is ${id}, outside [0, ${config.vocab_size})`);
    x.set(embed.subarray(id * hidden, (id + 1) * hidden), t * hidden);
  });

  const keys: Float32Array[] = [];
  const values: Float32Array[] = [];
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = layerTensorNames(layer);
    const h = rmsNorm(x, tokens, hidden, tensor(weights, names.inputNorm), config.rms_norm_eps);
    let q = linear(h, tokens, tensor(weights, names.qProj), nQ * d, hidden);
    if (config.aug_q_size > 0) {
      q = gatedMlp(q, tokens, nQ * d, config.aug_q_size, {
        gate: tensor(weights, names.qGateProj),
        up: tensor(weights, names.qUpProj),
        down: tensor(weights, names.qDownProj),
      });
    }
    const k = linear(h, tokens, tensor(weights, names.kProj), nK * d, hidden);
    const v = linear(h, tokens, tensor(weights, names.vProj), nV * d, hidden);
    applyRope(q, positions, nQ, d, config.rope_theta);
    applyRope(k, positions, nK, d, config.rope_theta);
    if (options.returnKv === true) {
      keys.push(k);
      values.push(v);
    }
    const attention = causalAttention(config, q, k, v, tokens);
    const attnOut = linear(attention, tokens, tensor(weights, names.oProj), hidden, nQ * d);
    const afterAttention = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) afterAttention[i] = x[i]! + attnOut[i]!;
    const h2 = rmsNorm(afterAttention, tokens, hidden, tensor(weights, names.postAttentionNorm), config.rms_norm_eps);
    const mlp = gatedMlp(h2, tokens, hidden, config.intermediate_size, {
      gate: tensor(weights, names.gateProj),
      up: tensor(weights, names.upProj),
      down: tensor(weights, names.downProj),
    });
    x = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) x[i] = afterAttention[i]! + mlp[i]!;
  }
  const normed = rmsNorm(x, tokens, hidden, tensor(weights, FINAL_NORM), config.rms_norm_eps);
  const head = config.tie_word_embeddings ? embed : tensor(weights, LM_HEAD);
  const logits = linear(normed, tokens, head, config.vocab_size, hidden);
  return options.returnKv === true ? { logits, keys, values } : { logits };
}
