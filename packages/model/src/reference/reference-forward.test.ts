import assert from "node:assert/strict";
import { test } from "node:test";
import { parseModelConfig, presetConfig, type ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { layerTensorNames } from "../weights/tensor-names.js";
import { validateWeights } from "../weights/validate-weights.js";
import { applyRope, gatedMlp, linear, rmsNorm } from "./reference-ops.js";
import { causalAttention, referenceForward } from "./reference-forward.js";

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    assert.ok(diff <= tolerance, `${what}[${i}] = ${actual[i]}, expected ${expected[i]} (diff ${diff} > ${tolerance})`);
  }
}

const f = (...values: number[]): Float32Array => Float32Array.from(values);

test("reference forward - a one-layer n_q=4, n_k=1, n_v=2 model matches the hand computation", () => {
  const eps = 1e-6;
  const config = parseModelConfig({
    vocab_size: 2,
    hidden_size: 2,
    intermediate_size: 1,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_heads: 1,
    num_value_heads: 2,
    head_dim: 2,
    aug_q_size: 0,
    rope_theta: 10_000, // head_dim 2: the only frequency is θ^0 = 1, so position p rotates by p radians
    rms_norm_eps: eps,
    max_position_embeddings: 8,
    tie_word_embeddings: false,
  });
  const names = layerTensorNames(0);
  const weights: TensorMap = new Map([
    ["model.embed_tokens.weight", { shape: [2, 2], data: f(1, 0, 0, 1) }], // token 0 → [1,0], token 1 → [0,1]
    [names.inputNorm, { shape: [2], data: f(1, 1) }],
    // Every Q head is the normed input itself.
    [names.qProj, { shape: [8, 2], data: f(1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1) }],
    [names.kProj, { shape: [2, 2], data: f(1, 0, 0, 1) }], // the one K head = input
    [names.vProj, { shape: [4, 2], data: f(1, 0, 0, 1, 0, 1, 1, 0) }], // V head 0 = input, V head 1 = input swapped
    // o_proj reads Q-head 0 dim 0 (flat index 0) into out 0 and Q-head 2 dim 0 (flat index 4) into out 1.
    [names.oProj, { shape: [2, 8], data: f(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0) }],
    [names.postAttentionNorm, { shape: [2], data: f(1, 1) }],
    [names.gateProj, { shape: [1, 2], data: f(1, 1) }],
    [names.upProj, { shape: [1, 2], data: f(1, 1) }],
    [names.downProj, { shape: [2, 1], data: f(0, 0) }], // the MLP adds nothing
    ["model.norm.weight", { shape: [2], data: f(1, 1) }],
    ["lm_head.weight", { shape: [2, 2], data: f(1, 0, 0, 1) }], // logits = final normed state
  ]);
  validateWeights(config, weights);
  const result = referenceForward(config, weights, [0, 1], { returnKv: true });

  // Input norm: [1,0] → [a,0] with a = 1/sqrt(mean([1,0]²) + eps) = 1/sqrt(0.5 + 1e-6) = 1.4142121.
  const a = 1 / Math.sqrt(0.5 + eps);
  assert.ok(Math.abs(a - 1.4142121) < 1e-6);
  // K after RoPE: position 0 is not rotated; position 1 rotates [0,a] by 1 rad → [-a·sin 1, a·cos 1].
  const [s, c] = [Math.sin(1), Math.cos(1)];
  assertClose(result.keys![0]!, [a, 0, -a * s, a * c], 1e-6, "K");
  // V: token 0 → head 0 [a,0], head 1 [0,a]; token 1 → head 0 [0,a], head 1 [a,0].
  assertClose(result.values![0]!, [a, 0, 0, a, 0, a, a, 0], 1e-6, "V");
  // Token 1's scores (every Q head equals rotated input, one K head), scale 1/√2:
  //   q1·k0 = -a²·sin 1 = -1.6829 → -1.19002;  q1·k1 = a² = 2.0000 → 1.41421
  //   softmax → p0 = 1/(1 + e^(1.41421+1.19002)) = 0.0688668, p1 = 0.9311332.
  const p0 = 0.0688668;
  const p1 = 0.9311332;
  // Attention out, o_proj: token 0 attends only to itself: head 0 reads V head 0 → [a,0]; head 2 reads
  // V head 1 → [0,a]; out = [a, 0]. Token 1: head 0 → p0·[a,0] + p1·[0,a]; head 2 (V head 1) → p0·[0,a] + p1·[a,0];
  // out = [p0·a, p1·a] = [0.0973923, 1.3168199].
  // Residual: x0 = [1 + a, 0] = [2.4142121, 0]; x1 = [0.0973923, 1 + 1.3168199] = [0.0973923, 2.3168199].
  // The MLP adds 0. Final norm: x / sqrt(mean(x²) + eps):
  //   x0 → [2.4142121 / 1.7071063, 0] = [1.4142133, 0]
  //   x1 → rms sqrt((0.0094853 + 5.3676546)/2 + 1e-6) = 1.6396766 → [0.0593969, 1.4129654]
  assertClose(result.logits, [1.4142133, 0, 0.0593969, 1.4129654], 2e-6, "logits");
  assert.ok(Math.abs(p0 + p1 - 1) < 1e-7);
});

/** HF repeat_kv: each KV head is repeated n_q/n_kv times, so Q head i reads KV head floor(i / n_rep). */
function repeatKv(x: Float32Array, tokens: number, kvHeads: number, repeats: number, d: number): Float32Array {
  const out = new Float32Array(tokens * kvHeads * repeats * d);
  for (let t = 0; t < tokens; t++)
    for (let h = 0; h < kvHeads * repeats; h++)
      out.set(x.subarray((t * kvHeads + Math.floor(h / repeats)) * d, (t * kvHeads + Math.floor(h / repeats) + 1) * d), (t * kvHeads * repeats + h) * d);
  return out;
}

/** Standard multi-head attention, as matrices: S = QKᵀ/√d, causal mask, softmax rows, S·V. */
function multiHeadAttention(q: Float32Array, k: Float32Array, v: Float32Array, tokens: number, heads: number, d: number): Float32Array {
  const out = new Float32Array(tokens * heads * d);
  for (let h = 0; h < heads; h++) {
    const scores: number[][] = [];
    for (let t = 0; t < tokens; t++) {
      const row: number[] = [];
      for (let s = 0; s < tokens; s++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += q[(t * heads + h) * d + i]! * k[(s * heads + h) * d + i]!;
        row.push(s <= t ? dot / Math.sqrt(d) : -Infinity);
      }
      const max = Math.max(...row);
      const exps = row.map((x) => Math.exp(x - max));
      const sum = exps.reduce((x, y) => x + y, 0);
      scores.push(exps.map((x) => x / sum));
    }
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let s = 0; s < tokens; s++) acc += scores[t]![s]! * v[(s * heads + h) * d + i]!;
        out[(t * heads + h) * d + i] = acc;
      }
  }
  return out;
}

/** A second forward pass for GQA models, built on repeat_kv + plain MHA instead of the head mapping. */
function gqaForwardViaRepeatKv(config: ModelConfig, weights: TensorMap, tokenIds: number[]): Float32Array {
  const T = tokenIds.length;
  const H = config.hidden_size;
  const { num_attention_heads: nQ, num_key_heads: nKv, head_dim: d } = config;
  const w = (name: string) => weights.get(name)!.data;
  const embed = w("model.embed_tokens.weight");
  let x = new Float32Array(T * H);
  tokenIds.forEach((id, t) => x.set(embed.subarray(id * H, (id + 1) * H), t * H));
  const positions = tokenIds.map((_, t) => t);
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const n = layerTensorNames(layer);
    const h = rmsNorm(x, T, H, w(n.inputNorm), config.rms_norm_eps);
    const q = linear(h, T, w(n.qProj), nQ * d, H);
    const k = linear(h, T, w(n.kProj), nKv * d, H);
    const v = linear(h, T, w(n.vProj), nKv * d, H);
    applyRope(q, positions, nQ, d, config.rope_theta);
    applyRope(k, positions, nKv, d, config.rope_theta);
    const attn = multiHeadAttention(q, repeatKv(k, T, nKv, nQ / nKv, d), repeatKv(v, T, nKv, nQ / nKv, d), T, nQ, d);
    const o = linear(attn, T, w(n.oProj), H, nQ * d);
    const mid = x.map((value, i) => value + o[i]!);
    const mlp = gatedMlp(rmsNorm(mid, T, H, w(n.postAttentionNorm), config.rms_norm_eps), T, H, config.intermediate_size, {
      gate: w(n.gateProj),
      up: w(n.upProj),
      down: w(n.downProj),
    });
    x = mid.map((value, i) => value + mlp[i]!);
  }
  const normed = rmsNorm(x, T, H, w("model.norm.weight"), config.rms_norm_eps);
  return linear(normed, T, config.tie_word_embeddings ? embed : w("lm_head.weight"), config.vocab_size, H);
}

test("reference forward - the GQA special case equals multi-head attention with repeated KV heads", () => {
  const config = presetConfig("sigma-tiny-gqa", { numHiddenLayers: 2 });
  const weights = makeDemoWeights(config, 7);
  const tokens = [256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];
  const expected = gqaForwardViaRepeatKv(config, weights, tokens);
  const actual = referenceForward(config, weights, tokens).logits;
  assertClose(actual, expected, 1e-5, "logits");
});

test("reference forward - causal attention: a position never sees later tokens", () => {
  const config = presetConfig("sigma-tiny", { numHiddenLayers: 1 });
  const weights = makeDemoWeights(config, 1);
  const full = referenceForward(config, weights, [1, 2, 3, 4, 5]).logits;
  const prefix = referenceForward(config, weights, [1, 2, 3]).logits;
  assertClose(full.subarray(0, prefix.length), prefix, 0, "prefix logits");
});

test("reference forward - demo logits are finite and not degenerate through every layer", () => {
  const config = presetConfig("sigma-tiny");
  const weights = makeDemoWeights(config, 0);
  const tokens = Array.from("The quick brown fox jumps over the lazy dog.", (ch) => ch.charCodeAt(0));
  const { logits } = referenceForward(config, weights, tokens);
  const V = config.vocab_size;
  const argmaxes = new Set<number>();
  for (let t = 0; t < tokens.length; t++) {
    const row = Array.from(logits.subarray(t * V, (t + 1) * V));
    assert.ok(row.every(Number.isFinite), `row ${t} has a non-finite logit`);
    const mean = row.reduce((x, y) => x + y, 0) / V;
    const std = Math.sqrt(row.reduce((x, y) => x + (y - mean) ** 2, 0) / V);
    assert.ok(std > 0.5 && std < 20, `row ${t}: logit std ${std} is degenerate`);
    argmaxes.add(row.indexOf(Math.max(...row)));
  }
  assert.ok(argmaxes.size > 3, `the argmax barely changes with the context: ${[...argmaxes].join(",")}`);
});

test("reference forward - the DiffQKV head mapping reads V head floor(i·n_v/n_q)", () => {
  // With one token, softmax is 1 and each Q head's output is exactly its V head's row.
  const config = presetConfig("sigma-tiny");
  const d = config.head_dim;
  const q = new Float32Array(config.num_attention_heads * d).fill(1);
  const k = new Float32Array(config.num_key_heads * d).fill(1);
  const v = Float32Array.from({ length: config.num_value_heads * d }, (_, i) => Math.floor(i / d) + 1);
  const out = causalAttention(config, q, k, v, 1);
  const perHead = Array.from({ length: config.num_attention_heads }, (_, head) => out[head * d]);
  assert.deepEqual(perHead, [1, 1, 2, 2, 3, 3, 4, 4]);
});
