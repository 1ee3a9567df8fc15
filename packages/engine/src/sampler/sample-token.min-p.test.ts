import * as assert from "node:assert/strict";
import { test } from "node:test";
import { requestUniform } from "./request-rng.js";
import { type SamplerParams, sampleToken } from "./sample-token.js";

/** Deterministic pseudo-random logits in [-scale, scale) (a 32-bit LCG). */
function makeLogits(vocabSize: number, seed: number, scale = 4): Float32Array {
  const logits = new Float32Array(vocabSize);
  let state = seed >>> 0;
  for (let i = 0; i < vocabSize; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    logits[i] = (state / 2 ** 32) * 2 * scale - scale;
  }
  return logits;
}

/**
 * The oracle, vLLM's order spelled out on normalized probabilities: softmax of
 * logits / T, keep p >= min_p · max p, then top-k and top-p on what is left
 * (renormalised), then an inverse-CDF draw over the kept ids in id order.
 */
function referenceSample(logits: Float32Array, params: SamplerParams, step: number): number {
  const max = Math.max(...logits);
  const weights = Array.from(logits, (l) => Math.exp((l - max) / params.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  const probs = weights.map((w) => w / total);
  const maxProb = Math.max(...probs);
  let kept = Array.from(logits, (_, id) => id)
    .filter((id) => probs[id]! >= (params.minP ?? 0) * maxProb)
    .sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (params.topK > 0) kept = kept.slice(0, params.topK);
  if (params.topP < 1) {
    const mass = kept.reduce((sum, id) => sum + probs[id]!, 0);
    let cumulative = 0;
    let count = 0;
    while (count < kept.length && cumulative < params.topP * mass) cumulative += probs[kept[count++]!]!;
    kept = kept.slice(0, count);
  }
  const inIdOrder = [...kept].sort((a, b) => a - b);
  const keptMass = inIdOrder.reduce((sum, id) => sum + probs[id]!, 0);
  const target = requestUniform(params.seed, step) * keptMass;
  let cumulative = 0;
  for (const id of inIdOrder) {
    cumulative += probs[id]!;
    if (cumulative > target) return id;
  }
  return inIdOrder.at(-1)!;
}

const base: SamplerParams = { temperature: 1, topP: 1, topK: 0, seed: 5n, logprobs: undefined };

test("sampler - min_p keeps exactly the tokens whose probability is at least min_p times the best one's", () => {
  // Probabilities ∝ e^0, e^-1, e^-2, e^-3 relative to the best: 1, 0.37, 0.14, 0.05.
  const logits = Float32Array.from([-3, 0, -1, -2]);
  const drawn = new Set<number>();
  for (let step = 0; step < 400; step++) drawn.add(sampleToken(logits, { ...base, minP: 0.2 }, step).tokenId);
  assert.deepEqual([...drawn].sort(), [1, 2]);
  const all = new Set<number>();
  for (let step = 0; step < 400; step++) all.add(sampleToken(logits, { ...base, minP: 0 }, step).tokenId);
  assert.deepEqual([...all].sort(), [0, 1, 2, 3]);
});

test("sampler - min_p applies after temperature (vLLM): a hotter temperature keeps more", () => {
  const logits = Float32Array.from([0, -1, -2, -3]);
  const kept = (temperature: number): number[] => {
    const drawn = new Set<number>();
    for (let step = 0; step < 400; step++) drawn.add(sampleToken(logits, { ...base, temperature, minP: 0.2 }, step).tokenId);
    return [...drawn].sort();
  };
  // Relative to the best, against min_p 0.2: T = 1 gives 0.37, 0.14, 0.05; T = 2 gives 0.61, 0.37, 0.22; T = 0.5 gives 0.14, ...
  assert.deepEqual(kept(1), [0, 1]);
  assert.deepEqual(kept(2), [0, 1, 2, 3]);
  assert.deepEqual(kept(0.5), [0]);
});

test("sampler - min_p with and without top-k and top-p draws what the oracle draws, step by step", () => {
  const cases: SamplerParams[] = [
    { ...base, minP: 0.05 },
    { ...base, minP: 0.3, temperature: 0.8 },
    { ...base, minP: 0.1, topK: 10 },
    { ...base, minP: 0.02, topK: 40, topP: 0.7 },
    { ...base, minP: 0.1, topP: 0.9, temperature: 1.5 },
    { ...base, minP: 1 },
  ];
  for (const [index, params] of cases.entries()) {
    for (let step = 0; step < 60; step++) {
      const logits = makeLogits(500, 31 * index + step);
      assert.equal(sampleToken(logits, params, step).tokenId, referenceSample(logits, params, step), `case ${index}, step ${step}`);
    }
  }
});

test("sampler - min_p 1 keeps only the best token; min_p never changes greedy", () => {
  const logits = makeLogits(1000, 3);
  let best = 0;
  for (let id = 1; id < logits.length; id++) if (logits[id]! > logits[best]!) best = id;
  for (let step = 0; step < 20; step++) assert.equal(sampleToken(logits, { ...base, minP: 1 }, step).tokenId, best);
  assert.equal(sampleToken(logits, { ...base, temperature: 0, minP: 0.5 }, 0).tokenId, best);
});
