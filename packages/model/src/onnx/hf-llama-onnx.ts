/**
 * A GQA model (a Llama: n_k = n_v, no augmented Q) as one ONNX graph in the
 * layout Optimum exports for transformers.js, so a peer runtime can run our
 * weights: `onnx/model.onnx` beside config.json in the model directory.
 *
 *   inputs   input_ids [batch, seq] int64, attention_mask [batch, past + seq] int64,
 *            position_ids [batch, seq] int64,
 *            past_key_values.{i}.key / .value [batch, n_kv, past, head_dim] f32
 *   outputs  logits [batch, seq, vocab] f32, present.{i}.key / .value [batch, n_kv, past + seq, head_dim]
 *
 * n_kv and head_dim are static numbers in the declared shapes: transformers.js
 * builds the first step's empty past from them (every other symbolic dim but
 * batch_size becomes 0). The body is HF's LlamaForCausalLM: embedding, per
 * layer RMSNorm → q/k/v projections → rotate-half RoPE at position_ids → GQA
 * attention with a causal + padding mask (hf-llama-attention.ts) → o_proj →
 * residual → RMSNorm → SwiGLU → residual; final RMSNorm and lm_head (the
 * embedding when tied; NOTE: a tied table is stored twice, once for Gather
 * and once for the lm_head Gemm). The dense ops are our 2-D ones from
 * dense-ops.ts over N = batch·seq rows; only attention works in 4-D.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelConfigError } from "../config/errors.js";
import { isGqa, type ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerTensorNames } from "../weights/tensor-names.js";
import { gatedMlp, linear, rmsNorm, ropeTables } from "./dense-ops.js";
import { GraphBuilder } from "./graph-builder.js";
import { allowedKeys, applyRope4d, fromHeads, groupedQueryAttention, ropeForPositions, toHeads, type StepShapes } from "./hf-llama-attention.js";

/** Where transformers.js looks for the fp32 graph, relative to the model directory. */
export const HF_LLAMA_ONNX_FILE = "onnx/model.onnx";

export const HF_LLAMA_ONNX_INPUTS = { inputIds: "input_ids", attentionMask: "attention_mask", positionIds: "position_ids" } as const;
export const HF_LLAMA_ONNX_LOGITS = "logits";

/** Names of layer `layer`'s cache tensors: fed as past_key_values.*, returned as present.*. */
export function hfLlamaCacheNames(layer: number) {
  return {
    pastKey: `past_key_values.${layer}.key`,
    pastValue: `past_key_values.${layer}.value`,
    presentKey: `present.${layer}.key`,
    presentValue: `present.${layer}.value`,
  };
}

function weight(weights: TensorMap, name: string) {
  const tensor = weights.get(name);
  if (tensor === undefined) throw new Error(`HF Llama ONNX: weight ${name} is missing (validate weights first)`);
  return tensor;
}

/** The serialised graph, ready for InferenceSession.create(bytes) or onnx/model.onnx. */
export function buildHfLlamaOnnx(config: ModelConfig, weights: TensorMap): Uint8Array {
  if (!isGqa(config)) {
    throw new ModelConfigError([`num_key_heads: the HF Llama export needs n_k = n_v and no augmented Q (got n_k ${config.num_key_heads}, n_v ${config.num_value_heads}, aug_q_size ${config.aug_q_size})`]);
  }
  const { num_attention_heads: nQ, num_key_heads: nKv, head_dim: d, vocab_size: vocab } = config;
  const g = new GraphBuilder("sigmaserve_hf_llama");
  const { inputIds, attentionMask, positionIds } = HF_LLAMA_ONNX_INPUTS;
  g.input(inputIds, "int64", ["batch_size", "sequence_length"]);
  g.input(attentionMask, "int64", ["batch_size", "total_sequence_length"]);
  g.input(positionIds, "int64", ["batch_size", "sequence_length"]);
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = hfLlamaCacheNames(layer);
    g.input(names.pastKey, "float32", ["batch_size", nKv, "past_sequence_length", d]);
    g.input(names.pastValue, "float32", ["batch_size", nKv, "past_sequence_length", d]);
  }

  const shapes: StepShapes = { batchSeq: g.node("Shape", [inputIds]) };
  const allowed = allowedKeys(g, inputIds, attentionMask);
  const rope = ropeForPositions(g, ropeTables(config), config, positionIds);
  const embed = weight(weights, EMBED_TOKENS);
  const flatIds = g.node("Reshape", [inputIds, g.int64Initializer("flat_ids", [-1])]);
  let x = g.node("Gather", [g.floatInitializer("embed_tokens", embed.shape, embed.data), flatIds], { axis: 0 });

  const presents: string[] = [];
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = layerTensorNames(layer);
    const cache = hfLlamaCacheNames(layer);
    const h = rmsNorm(g, x, weight(weights, names.inputNorm).data, config.rms_norm_eps, `l${layer}_input_norm`);
    const q = applyRope4d(g, toHeads(g, linear(g, h, weight(weights, names.qProj), `l${layer}_q_proj`), nQ, config, shapes), rope);
    const k = applyRope4d(g, toHeads(g, linear(g, h, weight(weights, names.kProj), `l${layer}_k_proj`), nKv, config, shapes), rope);
    const v = toHeads(g, linear(g, h, weight(weights, names.vProj), `l${layer}_v_proj`), nKv, config, shapes);
    // The concatenations are the present.* outputs themselves (no Identity copy of the whole cache per step).
    const keys = g.node("Concat", [cache.pastKey, k], { axis: 2 }, cache.presentKey);
    const values = g.node("Concat", [cache.pastValue, v], { axis: 2 }, cache.presentValue);
    presents.push(keys, values);
    const attention = fromHeads(g, groupedQueryAttention(g, config, q, keys, values, allowed), nQ, config);
    const mid = g.node("Add", [x, linear(g, attention, weight(weights, names.oProj), `l${layer}_o_proj`)]);
    const h2 = rmsNorm(g, mid, weight(weights, names.postAttentionNorm).data, config.rms_norm_eps, `l${layer}_post_norm`);
    x = g.node("Add", [mid, gatedMlp(g, h2, { gate: weight(weights, names.gateProj), up: weight(weights, names.upProj), down: weight(weights, names.downProj) }, `l${layer}_mlp`)]);
  }

  const normed = rmsNorm(g, x, weight(weights, FINAL_NORM).data, config.rms_norm_eps, "final_norm");
  const rows = linear(g, normed, config.tie_word_embeddings ? embed : weight(weights, LM_HEAD), "lm_head");
  const logitsShape = g.node("Concat", [shapes.batchSeq, g.int64Initializer("vocab_dim", [vocab])], { axis: 0 });
  g.node("Reshape", [rows, logitsShape], {}, HF_LLAMA_ONNX_LOGITS);
  g.declareOutput(HF_LLAMA_ONNX_LOGITS, "float32", ["batch_size", "sequence_length", vocab]);
  for (const name of presents) g.declareOutput(name, "float32", ["batch_size", nKv, "total_sequence_length", d]);
  return g.toBytes();
}

/** Writes `dir/onnx/model.onnx` (transformers.js's fp32 file) and returns its path. */
export async function writeHfLlamaOnnx(dir: string, config: ModelConfig, weights: TensorMap): Promise<string> {
  const path = join(dir, HF_LLAMA_ONNX_FILE);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, buildHfLlamaOnnx(config, weights));
  return path;
}
