/**
 * The model's dense work as L+1 ONNX graphs ("stages"), cut at attention.
 *
 * Attention is not in any graph: the engine runs it over the paged KV cache.
 * So each stage ends where a layer's attention begins and starts where it
 * ends, and the residual stream is handed from stage to stage:
 *
 *   stage 0      input_ids, cos, sin                → hidden, q, k, v   (embed; layer 0 up to attention)
 *   stage i      hidden, attention, cos, sin        → hidden, q, k, v   (rest of layer i-1; layer i up to attention)
 *   stage L      hidden, attention, logit_rows      → logits            (rest of layer L-1; final norm; lm_head)
 *
 * `hidden` [N, H] is the residual stream entering the layer whose q, k, v the
 * stage returns. q [N, n_q·d] and k [N, n_k·d] are after RoPE (augmented Q
 * before RoPE, as in the paper); v is [N, n_v·d]. `cos`/`sin` [N, d/2] are
 * the rows of ropeTables() for each token's position, gathered once per step
 * by the caller and fed to every stage. `logit_rows` picks which rows get
 * logits (the last token of each sequence when decoding), so the vocab-sized
 * matmul runs only where it is needed. Cutting at attention makes L+1
 * session runs per step rather than 2L+2.
 */
import type { ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerTensorNames } from "../weights/tensor-names.js";
import { applyRope, gatedMlp, linear, rmsNorm, ropeRows } from "./dense-ops.js";
import { GraphBuilder } from "./graph-builder.js";

export const STAGE_INPUTS = {
  inputIds: "input_ids",
  hidden: "hidden",
  attention: "attention",
  cos: "cos",
  sin: "sin",
  logitRows: "logit_rows",
} as const;
export const STAGE_OUTPUTS = { hidden: "hidden_out", q: "q", k: "k", v: "v", logits: "logits" } as const;

export interface DenseStage {
  /** 0 … num_hidden_layers. */
  index: number;
  kind: "first" | "middle" | "last";
  /** Serialised ONNX model. */
  bytes: Uint8Array;
}

function weight(weights: TensorMap, name: string) {
  const tensor = weights.get(name);
  if (tensor === undefined) throw new Error(`dense stages: weight ${name} is missing (validate weights first)`);
  return tensor;
}

/** Layer `layer` from its input norm to q, k, v (after RoPE); declares the stage's outputs. */
function attentionInputs(g: GraphBuilder, config: ModelConfig, weights: TensorMap, layer: number, x: string): void {
  const names = layerTensorNames(layer);
  const { num_attention_heads: nQ, num_key_heads: nK, num_value_heads: nV, head_dim: d } = config;
  const h = rmsNorm(g, x, weight(weights, names.inputNorm).data, config.rms_norm_eps, `l${layer}_input_norm`);
  let q = linear(g, h, weight(weights, names.qProj), `l${layer}_q_proj`);
  if (config.aug_q_size > 0) {
    q = gatedMlp(
      g,
      q,
      { gate: weight(weights, names.qGateProj), up: weight(weights, names.qUpProj), down: weight(weights, names.qDownProj) },
      `l${layer}_aug_q`,
    );
  }
  const k = linear(g, h, weight(weights, names.kProj), `l${layer}_k_proj`);
  const v = linear(g, h, weight(weights, names.vProj), `l${layer}_v_proj`);
  const rope = ropeRows(g, config, { cos: STAGE_INPUTS.cos, sin: STAGE_INPUTS.sin });
  g.output(x, STAGE_OUTPUTS.hidden, "float32", ["N", config.hidden_size]);
  g.output(applyRope(g, q, nQ, config, rope), STAGE_OUTPUTS.q, "float32", ["N", nQ * d]);
  g.output(applyRope(g, k, nK, config, rope), STAGE_OUTPUTS.k, "float32", ["N", nK * d]);
  g.output(v, STAGE_OUTPUTS.v, "float32", ["N", nV * d]);
}

/** The rest of layer `layer` after attention: o_proj, residual, MLP, residual. Returns the new residual stream. */
function afterAttention(g: GraphBuilder, config: ModelConfig, weights: TensorMap, layer: number): string {
  const names = layerTensorNames(layer);
  const attnOut = linear(g, STAGE_INPUTS.attention, weight(weights, names.oProj), `l${layer}_o_proj`);
  const mid = g.node("Add", [STAGE_INPUTS.hidden, attnOut]);
  const h = rmsNorm(g, mid, weight(weights, names.postAttentionNorm).data, config.rms_norm_eps, `l${layer}_post_norm`);
  const mlp = gatedMlp(g, h, { gate: weight(weights, names.gateProj), up: weight(weights, names.upProj), down: weight(weights, names.downProj) }, `l${layer}_mlp`);
  return g.node("Add", [mid, mlp]);
}

function declareLayerInputs(g: GraphBuilder, config: ModelConfig): void {
  g.input(STAGE_INPUTS.hidden, "float32", ["N", config.hidden_size]);
  g.input(STAGE_INPUTS.attention, "float32", ["N", config.num_attention_heads * config.head_dim]);
}

function declareRopeInputs(g: GraphBuilder, config: ModelConfig): void {
  g.input(STAGE_INPUTS.cos, "float32", ["N", config.head_dim / 2]);
  g.input(STAGE_INPUTS.sin, "float32", ["N", config.head_dim / 2]);
}

/** Builds one stage; stages are independent, so a runner can build them lazily. */
export function buildDenseStage(config: ModelConfig, weights: TensorMap, index: number): DenseStage {
  const layers = config.num_hidden_layers;
  if (!Number.isInteger(index) || index < 0 || index > layers) throw new RangeError(`stage index ${index} outside [0, ${layers}]`);
  const g = new GraphBuilder(`sigmaserve_stage_${index}`);
  if (index === 0) {
    g.input(STAGE_INPUTS.inputIds, "int64", ["N"]);
    declareRopeInputs(g, config);
    const embed = weight(weights, EMBED_TOKENS);
    const table = g.floatInitializer("embed_tokens", embed.shape, embed.data);
    attentionInputs(g, config, weights, 0, g.node("Gather", [table, STAGE_INPUTS.inputIds], { axis: 0 }));
    return { index, kind: "first", bytes: g.toBytes() };
  }
  declareLayerInputs(g, config);
  if (index < layers) {
    declareRopeInputs(g, config);
    attentionInputs(g, config, weights, index, afterAttention(g, config, weights, index - 1));
    return { index, kind: "middle", bytes: g.toBytes() };
  }
  g.input(STAGE_INPUTS.logitRows, "int64", ["M"]);
  const x = g.node("Gather", [afterAttention(g, config, weights, index - 1), STAGE_INPUTS.logitRows], { axis: 0 });
  const normed = rmsNorm(g, x, weight(weights, FINAL_NORM).data, config.rms_norm_eps, "final_norm");
  const head = config.tie_word_embeddings ? weight(weights, EMBED_TOKENS) : weight(weights, LM_HEAD);
  g.output(linear(g, normed, head, "lm_head"), STAGE_OUTPUTS.logits, "float32", ["M", config.vocab_size]);
  return { index, kind: "last", bytes: g.toBytes() };
}

/** All L+1 stages. */
export function buildDenseStages(config: ModelConfig, weights: TensorMap): DenseStage[] {
  return Array.from({ length: config.num_hidden_layers + 1 }, (_, index) => buildDenseStage(config, weights, index));
}
