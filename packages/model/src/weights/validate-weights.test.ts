import assert from "node:assert/strict";
import { test } from "node:test";
import { presetConfig } from "../config/index.js";
import { makeDemoWeights } from "./demo-weights.js";
import { WeightsMismatchError } from "./errors.js";
import { expectedTensorShapes } from "./tensor-names.js";
import { validateWeights } from "./validate-weights.js";

const config = presetConfig("sigma-tiny", { numHiddenLayers: 2 });

function mismatch(mutate: (weights: ReturnType<typeof makeDemoWeights>) => void): WeightsMismatchError {
  const weights = makeDemoWeights(config, 0);
  mutate(weights);
  try {
    validateWeights(config, weights, { source: "test.safetensors" });
  } catch (err) {
    assert.ok(err instanceof WeightsMismatchError);
    return err;
  }
  assert.fail("weights were accepted");
}

test("weights - the demo weights fit their config exactly", () => {
  validateWeights(config, makeDemoWeights(config, 0));
  // sigma-tiny: embed, final norm, and 12 tensors per layer (9 + 3 augmented Q); tied lm_head.
  assert.equal(expectedTensorShapes(config).size, 2 + 2 * 12);
  assert.deepEqual(expectedTensorShapes(config).get("model.layers.1.self_attn.q_gate_proj.weight"), [384, 256]);
  assert.deepEqual(expectedTensorShapes(config).get("model.layers.1.self_attn.k_proj.weight"), [32, 256]);
  assert.deepEqual(expectedTensorShapes(config).get("model.layers.1.self_attn.v_proj.weight"), [128, 256]);
});

test("weights - a missing tensor is named", () => {
  const err = mismatch((w) => w.delete("model.layers.1.self_attn.k_proj.weight"));
  assert.deepEqual(err.missing, ["model.layers.1.self_attn.k_proj.weight"]);
  assert.equal(err.message, "weights in test.safetensors do not match the config: missing tensors: model.layers.1.self_attn.k_proj.weight");
});

test("weights - an unexpected tensor is named", () => {
  const err = mismatch((w) => w.set("lm_head.weight", { shape: [259, 256], data: new Float32Array(259 * 256) }));
  assert.deepEqual(err.unexpected, ["lm_head.weight"]);
});

test("weights - a wrongly shaped tensor names both shapes", () => {
  const err = mismatch((w) => w.set("model.layers.0.self_attn.v_proj.weight", { shape: [32, 256], data: new Float32Array(32 * 256) }));
  assert.equal(
    err.message,
    "weights in test.safetensors do not match the config: model.layers.0.self_attn.v_proj.weight has shape [32, 256], expected [128, 256]",
  );
});

test("weights - demo weights are a pure function of the seed", () => {
  const a = makeDemoWeights(config, 3);
  const b = makeDemoWeights(config, 3);
  const c = makeDemoWeights(config, 4);
  for (const [name, tensor] of a) {
    assert.deepEqual(Buffer.from(tensor.data.buffer), Buffer.from(b.get(name)!.data.buffer), name);
    assert.notDeepEqual(Buffer.from(tensor.data.buffer), Buffer.from(c.get(name)!.data.buffer), name);
  }
  // Pinned values: a change to the generator changes every demo model, so it must be deliberate.
  const q = a.get("model.layers.0.self_attn.q_proj.weight")!.data;
  assert.deepEqual(Array.from(q.subarray(0, 3), (x) => x.toFixed(6)), PINNED_Q_PROJ_SEED3);
});

const PINNED_Q_PROJ_SEED3 = ["-0.003792", "-0.042251", "-0.096242"];
