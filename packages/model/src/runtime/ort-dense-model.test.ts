import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { presetConfig, type ModelConfig } from "../config/index.js";
import { referenceForward } from "../reference/reference-forward.js";
import type { TensorMap } from "../tensor.js";
import { makeDemoWeights } from "../weights/demo-weights.js";
import { OrtDenseModel } from "./ort-dense-model.js";

const TOLERANCE = 1e-4;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function prompt(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (i * 37 + 11) % vocab);
}

for (const preset of ["sigma-tiny", "sigma-tiny-gqa"] as const) {
  describe(`ort dense stages - ${preset}`, () => {
    let config: ModelConfig;
    let weights: TensorMap;
    let model: OrtDenseModel;
    before(async () => {
      config = presetConfig(preset);
      weights = makeDemoWeights(config, 0);
      model = await OrtDenseModel.create(config, weights);
    });
    after(() => model.release());

    for (const length of [1, 7, 33]) {
      test(`ort dense stages - ${preset}: logits match the reference within 1e-4 on ${length} tokens`, async () => {
        const tokens = prompt(length, config.vocab_size);
        const expected = referenceForward(config, weights, tokens).logits;
        const actual = await model.forward(tokens);
        const diff = maxAbsDiff(actual, expected);
        assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
      });
    }

    test(`ort dense stages - ${preset}: K after RoPE and V equal the reference's`, async () => {
      const tokens = prompt(9, config.vocab_size);
      const reference = referenceForward(config, weights, tokens, { returnKv: true });
      const stage0 = await model.embedAndProject(tokens, tokens.map((_, t) => t));
      assert.ok(maxAbsDiff(stage0.k, reference.keys![0]!) <= 1e-5, "layer 0 K");
      assert.ok(maxAbsDiff(stage0.v, reference.values![0]!) <= 1e-5, "layer 0 V");
    });

    test(`ort dense stages - ${preset}: a position offset equals the tail of a longer run`, async () => {
      const tokens = prompt(12, config.vocab_size);
      const reference = referenceForward(config, weights, tokens).logits;
      // Positions 5..11 alone differ from the full run (no context), but RoPE must use the offset:
      const tail = await model.forward(tokens.slice(5), { startPosition: 5 });
      const tailReference = referenceForward(config, weights, tokens.slice(5), { startPosition: 5 }).logits;
      assert.ok(maxAbsDiff(tail, tailReference) <= TOLERANCE);
      assert.ok(maxAbsDiff(tail, reference.subarray(5 * config.vocab_size)) > 1e-3, "context must matter");
    });
  });
}
