import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ModelConfigError } from "../config/errors.js";
import { presetConfig } from "../config/index.js";
import { referenceForward } from "../reference/reference-forward.js";
import { OrtDenseModel } from "../runtime/ort-dense-model.js";
import { SafetensorsError, roundToBf16, roundToF16 } from "../safetensors/index.js";
import type { TensorMap } from "../tensor.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { WeightsMismatchError } from "../weights/errors.js";
import { WEIGHTS_FILE_NAME, demoModel, loadModelDir, saveModelDir } from "./model-dir.js";

const root = await mkdtemp(join(tmpdir(), "sigmaserve-model-dir-"));
after(() => rm(root, { recursive: true, force: true }));

function rounded(weights: TensorMap, round: (x: Float32Array) => Float32Array): TensorMap {
  return new Map([...weights].map(([name, tensor]) => [name, { shape: tensor.shape, data: round(tensor.data) }]));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

test("model dir - the same seed writes byte-identical files", async () => {
  const { config, weights } = demoModel("sigma-tiny", 0);
  await saveModelDir(join(root, "a"), { config, weights, dtype: "f32" });
  await saveModelDir(join(root, "b"), { config, weights: makeDemoWeights(config, 0), dtype: "f32" });
  for (const file of ["config.json", "model.safetensors", "tokenizer.json"]) {
    assert.ok((await readFile(join(root, "a", file))).equals(await readFile(join(root, "b", file))), `${file} differs`);
  }
});

for (const preset of ["sigma-tiny", "sigma-tiny-gqa"] as const) {
  for (const [dtype, round] of [
    ["f16", roundToF16],
    ["bf16", roundToBf16],
  ] as const) {
    test(`model dir - ${preset} ${dtype} weights load back rounded, and ORT matches the reference on them (1, 7, 33 tokens)`, async () => {
      const { config, weights } = demoModel(preset, 0);
      const dir = join(root, `${preset}-${dtype}`);
      await saveModelDir(dir, { config, weights, dtype });
      const loaded = await loadModelDir(dir);
      const expected = rounded(weights, round);
      for (const [name, tensor] of expected) assert.deepEqual(loaded.weights.get(name)!.data, tensor.data, name);

      const model = await OrtDenseModel.create(loaded.config, loaded.weights);
      try {
        for (const length of [1, 7, 33]) {
          const tokens = Array.from({ length }, (_, i) => (i * 53 + 3) % config.vocab_size);
          const reference = referenceForward(config, expected, tokens).logits;
          const diff = maxAbsDiff(await model.forward(tokens), reference);
          assert.ok(diff <= 1e-4, `${length} tokens: max abs diff ${diff}`);
        }
      } finally {
        await model.release();
      }
    });
  }
}

test("model dir - a truncated safetensors file is refused with the file named", async () => {
  const { config, weights } = demoModel("sigma-tiny", 0, { numHiddenLayers: 1 });
  const dir = join(root, "truncated");
  await saveModelDir(dir, { config, weights, dtype: "f32" });
  const bytes = await readFile(join(dir, WEIGHTS_FILE_NAME));
  await writeFile(join(dir, WEIGHTS_FILE_NAME), bytes.subarray(0, bytes.length - 100));
  await assert.rejects(loadModelDir(dir), (err: unknown) => {
    assert.ok(err instanceof SafetensorsError);
    assert.match(err.message, /model\.safetensors/);
    assert.match(err.message, /100 bytes/);
    return true;
  });
});

test("model dir - weights for another config name the mismatching tensors", async () => {
  const small = presetConfig("sigma-tiny", { numHiddenLayers: 1 });
  const dir = join(root, "mismatch");
  await saveModelDir(dir, { config: small, weights: makeDemoWeights(small, 0), dtype: "f32" });
  await writeFile(join(dir, "config.json"), JSON.stringify({ ...small, num_hidden_layers: 2 }));
  await assert.rejects(loadModelDir(dir), (err: unknown) => {
    assert.ok(err instanceof WeightsMismatchError);
    assert.ok(err.missing.includes("model.layers.1.self_attn.q_proj.weight"));
    return true;
  });
});

test("model dir - a broken config.json names the file and the field", async () => {
  const small = presetConfig("sigma-tiny", { numHiddenLayers: 1 });
  const dir = join(root, "bad-config");
  await saveModelDir(dir, { config: small, weights: makeDemoWeights(small, 0), dtype: "f32" });
  await writeFile(join(dir, "config.json"), JSON.stringify({ ...small, num_value_heads: 3 }));
  await assert.rejects(loadModelDir(dir), (err: unknown) => {
    assert.ok(err instanceof ModelConfigError);
    assert.match(err.message, /config\.json is invalid: num_attention_heads: must be divisible by num_value_heads \(8 % 3 = 2\)/);
    return true;
  });
  await writeFile(join(dir, "config.json"), "{ not json");
  await assert.rejects(loadModelDir(dir), /config\.json is invalid: \(file\): is not valid JSON/);
});
