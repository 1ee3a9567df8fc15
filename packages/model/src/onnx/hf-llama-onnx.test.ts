/**
 * The HF-layout Llama graph, run in onnxruntime-node exactly as
 * transformers.js feeds it (empty past on the first step, present.* fed back
 * as past_key_values.*, left padding with position ids cumsum(mask) − 1 and 1
 * on padding), against the reference forward pass over each whole sequence.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import { configFromJson, presetConfig, type ModelConfig } from "../config/index.js";
import { ModelConfigError } from "../config/errors.js";
import { tinyLlamaConfigJson } from "../model-dir/tiny-hf-llama.js";
import { referenceForward } from "../reference/reference-forward.js";
import type { TensorMap } from "../tensor.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { HF_LLAMA_ONNX_LOGITS, buildHfLlamaOnnx, hfLlamaCacheNames } from "./hf-llama-onnx.js";

/** f32 tolerance on logits of a few units (the dense stages' tests use the same). */
const TOLERANCE = 1e-4;

type Feeds = Record<string, ort.Tensor>;

const int64 = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);

/** transformers.js's position ids: cumsum(mask) − 1, and 1 where the mask is 0. */
function positionIds(mask: number[][], seq: number): number[][] {
  return mask.map((row) => {
    let count = 0;
    const all = row.map((m) => (m === 1 ? count++ : 1));
    return all.slice(all.length - seq);
  });
}

function emptyPast(config: ModelConfig, batch: number): Feeds {
  const feeds: Feeds = {};
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = hfLlamaCacheNames(layer);
    for (const name of [names.pastKey, names.pastValue]) feeds[name] = new ort.Tensor("float32", new Float32Array(0), [batch, config.num_key_heads, 0, config.head_dim]);
  }
  return feeds;
}

function pastFrom(config: ModelConfig, outputs: ort.InferenceSession.ReturnType): Feeds {
  const feeds: Feeds = {};
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const names = hfLlamaCacheNames(layer);
    feeds[names.pastKey] = outputs[names.presentKey]!;
    feeds[names.pastValue] = outputs[names.presentValue]!;
  }
  return feeds;
}

async function step(session: ort.InferenceSession, config: ModelConfig, ids: number[][], mask: number[][], past: Feeds) {
  const seq = ids[0]!.length;
  return session.run({ input_ids: int64(ids), attention_mask: int64(mask), position_ids: int64(positionIds(mask, seq)), ...past });
}

/** Logits row `position` of batch row `row` from [batch, seq, vocab]. */
function logitsRow(outputs: ort.InferenceSession.ReturnType, row: number, position: number): Float32Array {
  const logits = outputs[HF_LLAMA_ONNX_LOGITS]!;
  const [, seq, vocab] = logits.dims as number[];
  return (logits.data as Float32Array).subarray((row * seq! + position) * vocab!, (row * seq! + position + 1) * vocab!);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const referenceRow = (config: ModelConfig, weights: TensorMap, tokens: number[], position: number) =>
  referenceForward(config, weights, tokens).logits.subarray(position * config.vocab_size, (position + 1) * config.vocab_size);

const cases: [string, ModelConfig][] = [
  ["tiny HF Llama (4 Q / 2 KV heads, untied lm_head)", configFromJson(tinyLlamaConfigJson())],
  ["sigma-tiny-gqa, 2 layers (8 Q / 4 KV heads, tied embeddings)", presetConfig("sigma-tiny-gqa", { numHiddenLayers: 2 })],
];

for (const [label, config] of cases) {
  describe(`HF Llama ONNX - ${label}`, () => {
    const weights = makeDemoWeights(config, 3);
    const tokens = [5, 17, 200, 3, 42, 99, 7, 250];
    let session: ort.InferenceSession;
    before(async () => {
      session = await ort.InferenceSession.create(buildHfLlamaOnnx(config, weights), { executionProviders: ["cpu"], intraOpNumThreads: 1, logSeverityLevel: 3 });
    });
    after(() => session.release());

    test("prefill gives the reference's logits at every position and its K (after RoPE) and V as present.*", async () => {
      const prompt = tokens.slice(0, 7);
      const outputs = await step(session, config, [prompt], [prompt.map(() => 1)], emptyPast(config, 1));
      const reference = referenceForward(config, weights, prompt, { returnKv: true });
      for (let t = 0; t < prompt.length; t++) {
        const expected = reference.logits.subarray(t * config.vocab_size, (t + 1) * config.vocab_size);
        assert.ok(maxAbsDiff(logitsRow(outputs, 0, t), expected) <= TOLERANCE, `position ${t}`);
      }
      const { num_key_heads: nKv, head_dim: d } = config;
      for (let layer = 0; layer < config.num_hidden_layers; layer++) {
        const names = hfLlamaCacheNames(layer);
        assert.deepEqual(outputs[names.presentKey]!.dims, [1, nKv, prompt.length, d]);
        for (const [present, expected] of [
          [outputs[names.presentKey]!.data as Float32Array, reference.keys![layer]!],
          [outputs[names.presentValue]!.data as Float32Array, reference.values![layer]!],
        ] as const) {
          // present is [1, n_kv, T, d]; the reference's [T, n_kv, d].
          const transposed = new Float32Array(expected.length);
          for (let h = 0; h < nKv; h++) for (let t = 0; t < prompt.length; t++) transposed.set(expected.subarray((t * nKv + h) * d, (t * nKv + h + 1) * d), (h * prompt.length + t) * d);
          assert.ok(maxAbsDiff(present, transposed) <= TOLERANCE, `layer ${layer}`);
        }
      }
    });

    test("a decode step with the prefill's past gives the reference's logits for the next position", async () => {
      const prompt = tokens.slice(0, 7);
      const first = await step(session, config, [prompt], [prompt.map(() => 1)], emptyPast(config, 1));
      const next = await step(session, config, [[tokens[7]!]], [tokens.map(() => 1)], pastFrom(config, first));
      assert.deepEqual(next[HF_LLAMA_ONNX_LOGITS]!.dims, [1, 1, config.vocab_size]);
      assert.ok(maxAbsDiff(logitsRow(next, 0, 0), referenceRow(config, weights, tokens, 7)) <= TOLERANCE);
    });

    test("a left-padded batch of two prompts, then a decode step, matches each sequence on its own", async () => {
      const long = tokens.slice(0, 7);
      const short = [11, 222, 33, 44];
      const pad = 0;
      const ids = [long, [...long.slice(short.length).map(() => pad), ...short]];
      const mask = [long.map(() => 1), [...long.slice(short.length).map(() => 0), ...short.map(() => 1)]];
      const prefill = await step(session, config, ids, mask, emptyPast(config, 2));
      assert.ok(maxAbsDiff(logitsRow(prefill, 0, 6), referenceRow(config, weights, long, 6)) <= TOLERANCE, "long prompt");
      assert.ok(maxAbsDiff(logitsRow(prefill, 1, 6), referenceRow(config, weights, short, 3)) <= TOLERANCE, "short prompt");
      const nextIds = [[5], [6]];
      const decode = await step(session, config, nextIds, mask.map((row) => [...row, 1]), pastFrom(config, prefill));
      assert.ok(maxAbsDiff(logitsRow(decode, 0, 0), referenceRow(config, weights, [...long, 5], 7)) <= TOLERANCE, "long, decode");
      assert.ok(maxAbsDiff(logitsRow(decode, 1, 0), referenceRow(config, weights, [...short, 6], 4)) <= TOLERANCE, "short, decode");
    });
  });
}

test("HF Llama ONNX - a DiffQKV config is refused: Llama has one KV head count and no augmented Q", () => {
  const config = presetConfig("sigma-tiny", { numHiddenLayers: 1 });
  assert.throws(() => buildHfLlamaOnnx(config, makeDemoWeights(config, 0)), (err: unknown) => err instanceof ModelConfigError && /n_k = n_v/.test(err.message));
});
