import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { NonFiniteLogitsError } from "./errors.js";
import { requestUniform } from "./request-rng.js";
import { type SampledToken, type SamplerParams, sampleToken } from "./sample-token.js";

const LLAMA3_VOCAB = 128_256;
const base: SamplerParams = { temperature: 1, topP: 1, topK: 0, seed: 1234n, logprobs: undefined };

/** Deterministic pseudo-random logits in [-scale, scale) (a 32-bit LCG; no Math.random in tests). */
function makeLogits(vocabSize: number, seed: number, scale = 8): Float32Array {
  const logits = new Float32Array(vocabSize);
  let state = seed >>> 0;
  for (let i = 0; i < vocabSize; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    logits[i] = (state / 2 ** 32) * 2 * scale - scale;
  }
  return logits;
}

/** The set of token ids drawn over `steps` steps. */
function drawnSet(logits: Float32Array, params: SamplerParams, steps: number): number[] {
  const seen = new Set<number>();
  for (let step = 0; step < steps; step++) seen.add(sampleToken(logits, params, step).tokenId);
  return [...seen].sort((a, b) => a - b);
}

/**
 * The sampler spelled out the slow, obvious way: sort the whole vocabulary,
 * cut top-k and top-p from the sorted list, draw over the kept ids in id order.
 */
function referenceSample(logits: Float32Array, params: SamplerParams, step: number): number {
  const ids = Array.from(logits, (_, id) => id);
  const ranked = ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (params.temperature === 0) return ranked[0]!;
  const max = logits[ranked[0]!]!;
  const probs = Array.from(logits, (logit) => Math.exp((logit - max) / params.temperature));
  let kept = params.topK > 0 ? ranked.slice(0, params.topK) : ranked;
  if (params.topP < 1) {
    const mass = params.topK > 0 && params.topK < logits.length ? kept.reduce((sum, id) => sum + probs[id]!, 0) : probs.reduce((a, b) => a + b, 0);
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

test("sampler - temperature 0 is argmax, ties to the lowest id", () => {
  const logits = Float32Array.of(1, 3, 2, 3);
  for (const step of [0, 1, 99]) assert.equal(sampleToken(logits, { ...base, temperature: 0, seed: BigInt(step) }, step).tokenId, 1);
  assert.equal(sampleToken(Float32Array.of(-Infinity, -7, -5, -Infinity), { ...base, temperature: 0 }, 0).tokenId, 2);
});

test("sampler - temperature sampling frequencies converge to the softmax (chi-square, 20k draws)", () => {
  const logits = Float32Array.of(0, 1, 2, -1, 0.5);
  const temperature = 0.8;
  const weights = Array.from(logits, (logit) => Math.exp(logit / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  const draws = 20_000;
  const counts = [0, 0, 0, 0, 0];
  for (let step = 0; step < draws; step++) counts[sampleToken(logits, { ...base, temperature, seed: 99n }, step).tokenId]!++;
  const chiSquare = counts.reduce((sum, count, id) => {
    const expected = (draws * weights[id]!) / total;
    return sum + (count - expected) ** 2 / expected;
  }, 0);
  // 4 degrees of freedom: 18.47 is the 0.1% critical value.
  assert.ok(chiSquare < 18.47, `chi-square ${chiSquare.toFixed(2)}, counts ${counts.join(",")}`);
});

test("sampler - top-k keeps exactly the k best tokens, ties to the lower id", () => {
  const logits = Float32Array.of(1, 2, 1.5, 2, 0, 1.8);
  assert.deepEqual(drawnSet(logits, { ...base, topK: 3 }, 2_000), [1, 3, 5]);
  assert.deepEqual(drawnSet(logits, { ...base, topK: 1 }, 200), [1]);
  assert.deepEqual(drawnSet(Float32Array.of(3, 1, 3, 3, 2), { ...base, topK: 2 }, 1_000), [0, 2]);
  // k at or above the vocabulary size is off.
  assert.deepEqual(drawnSet(Float32Array.of(0, 0, 0), { ...base, topK: 3 }, 300), [0, 1, 2]);
  assert.deepEqual(drawnSet(Float32Array.of(0, 0, 0), { ...base, topK: 50 }, 300), [0, 1, 2]);
});

test("sampler - top-p keeps the smallest best-first set that reaches top_p", () => {
  // Probabilities 0.5, 0.1, 0.2, 0.15, 0.05; best first: 0, 2, 3, 1, 4.
  const logits = Float32Array.from([0.5, 0.1, 0.2, 0.15, 0.05], Math.log);
  assert.deepEqual(drawnSet(logits, { ...base, topP: 0.45 }, 1_000), [0]);
  assert.deepEqual(drawnSet(logits, { ...base, topP: 0.6 }, 1_000), [0, 2]);
  assert.deepEqual(drawnSet(logits, { ...base, topP: 0.75 }, 1_000), [0, 2, 3]);
  assert.deepEqual(drawnSet(logits, { ...base, topP: 0.9 }, 2_000), [0, 1, 2, 3]);
  // Equal probabilities: 0.25 + 0.25 reaches 0.5 exactly, ties go to the lower ids.
  assert.deepEqual(drawnSet(Float32Array.of(0, 0, 0, 0), { ...base, topP: 0.5 }, 1_000), [0, 1]);
});

test("sampler - top-p applies to what top-k kept, renormalised", () => {
  const logits = Float32Array.from([0.5, 0.1, 0.2, 0.15, 0.05], Math.log);
  // top-k 2 keeps {0, 2} with 0.714 and 0.286 after renormalising.
  assert.deepEqual(drawnSet(logits, { ...base, topK: 2, topP: 0.75 }, 1_000), [0, 2]);
  assert.deepEqual(drawnSet(logits, { ...base, topK: 2, topP: 0.7 }, 1_000), [0]);
  // Temperature sharpens before top-p: at 0.5 the probabilities are ∝ p², so 0 alone holds 0.25/0.325 = 0.769.
  assert.deepEqual(drawnSet(logits, { ...base, temperature: 0.5, topP: 0.75 }, 1_000), [0]);
});

test("sampler - masked (-Inf) tokens are never drawn", () => {
  assert.deepEqual(drawnSet(Float32Array.of(-Infinity, 0, -Infinity, 0), base, 500), [1, 3]);
});

test("sampler - same (seed, step, logits) gives the same token, in any order and any batch", () => {
  const rows = [0, 1, 2].map((i) => makeLogits(1_000, 17 + i, 4));
  const params: SamplerParams = { ...base, temperature: 0.9, topK: 50, topP: 0.95, seed: 0xfeedn };
  const inOrder = Array.from({ length: 40 }, (_, step) => sampleToken(rows[step % 3]!, params, step).tokenId);
  const reversed = Array.from({ length: 40 }, (_, i) => 39 - i).map((step) => sampleToken(rows[step % 3]!, params, step).tokenId).reverse();
  // A different batch: another request with other parameters samples between ours.
  const batched = Array.from({ length: 40 }, (_, step) => {
    sampleToken(rows[(step + 1) % 3]!, { ...base, seed: 5n, topP: 0.5 }, step * 7);
    return sampleToken(rows[step % 3]!, params, step).tokenId;
  });
  assert.deepEqual(reversed, inOrder);
  assert.deepEqual(batched, inOrder);
  assert.equal(new Set(inOrder).size > 1, true);
});

test("sampler - matches the sort-everything reference on random rows (heap, sort and mask paths)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2_000 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.constantFrom(0, 0.3, 1, 2.5),
      fc.constantFrom(0, 1, 7, 100, 1_999, 5_000),
      fc.constantFrom(1, 0.999, 0.9, 0.5, 0.01),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.integer({ min: 0, max: 10_000 }),
      (vocabSize, logitSeed, temperature, topK, topP, seed, step) => {
        const logits = makeLogits(vocabSize, logitSeed, 3);
        const params: SamplerParams = { ...base, temperature, topK, topP, seed };
        assert.equal(sampleToken(logits, params, step).tokenId, referenceSample(logits, params, step));
      },
    ),
    { numRuns: 300, seed: 20_240_601 },
  );
  // Kept sets larger than the id-sort limit (4096) take the mask path.
  const flat = makeLogits(20_000, 3, 0.5);
  for (const params of [
    { ...base, topK: 10_000, seed: 8n },
    { ...base, topP: 0.9, seed: 9n },
    { ...base, topK: 15_000, topP: 0.8, seed: 10n },
  ]) {
    for (let step = 0; step < 20; step++) assert.equal(sampleToken(flat, params, step).tokenId, referenceSample(flat, params, step));
  }
});

test("sampler - logprobs are the raw log-softmax, hand-checked on 4 tokens", () => {
  // Probabilities 0.1, 0.2, 0.3, 0.4.
  const logits = Float32Array.from([1, 2, 3, 4], Math.log);
  const expected = (id: number): number => Math.log((id + 1) / 10);
  for (const temperature of [0, 0.5, 1, 2]) {
    const result = sampleToken(logits, { ...base, temperature, topK: temperature === 2 ? 1 : 0, logprobs: 2 }, 3);
    assert.ok(Math.abs(result.logprob! - expected(result.tokenId)) < 1e-6, `T=${temperature}: ${result.logprob}`);
    assert.deepEqual(result.topLogprobs!.map((entry) => entry.tokenId), [3, 2]);
    result.topLogprobs!.forEach((entry) => assert.ok(Math.abs(entry.logprob - expected(entry.tokenId)) < 1e-6));
  }
  // Equal logits: every logprob is exactly -ln 4; alternatives by id.
  const flat = sampleToken(Float32Array.of(0, 0, 0, 0), { ...base, temperature: 0, logprobs: 20 }, 0);
  assert.deepEqual(flat, {
    tokenId: 0,
    logprob: -Math.log(4),
    topLogprobs: [0, 1, 2, 3].map((tokenId) => ({ tokenId, logprob: -Math.log(4) })),
  });
});

test("sampler - logprobs 0 gives the chosen logprob only; unset gives none", () => {
  const logits = Float32Array.of(0, 0);
  assert.deepEqual(sampleToken(logits, { ...base, temperature: 0, logprobs: 0 }, 0), { tokenId: 0, logprob: -Math.log(2), topLogprobs: [] });
  assert.deepEqual(sampleToken(logits, { ...base, temperature: 0 }, 0), { tokenId: 0, logprob: undefined, topLogprobs: undefined });
  const chosen = sampleToken(Float32Array.of(-Infinity, 0), { ...base, temperature: 0, logprobs: 1 }, 0);
  assert.deepEqual(chosen, { tokenId: 1, logprob: 0, topLogprobs: [{ tokenId: 1, logprob: 0 }] });
});

test("sampler - out is filled and returned", () => {
  const out: SampledToken = { tokenId: -1, logprob: 5, topLogprobs: [] };
  assert.equal(sampleToken(Float32Array.of(1, 2), { ...base, temperature: 0 }, 0, out), out);
  assert.deepEqual(out, { tokenId: 1, logprob: undefined, topLogprobs: undefined });
});

test("sampler - NaN or +Inf logits are a NonFiniteLogitsError", () => {
  assert.throws(() => sampleToken(Float32Array.of(0, NaN, 1), base, 0), new NonFiniteLogitsError("logits row of 3 holds NaN"));
  assert.throws(() => sampleToken(Float32Array.of(NaN, 1), { ...base, temperature: 0 }, 0), NonFiniteLogitsError);
  assert.throws(() => sampleToken(Float32Array.of(0, NaN, 1), { ...base, topK: 1 }, 0), NonFiniteLogitsError);
  assert.throws(
    () => sampleToken(Float32Array.of(-Infinity, -Infinity), base, 0),
    new NonFiniteLogitsError("logits row of 2 has no finite maximum (max -Infinity)"),
  );
  assert.throws(() => sampleToken(Float32Array.of(0, Infinity), { ...base, temperature: 0 }, 0), NonFiniteLogitsError);
  assert.throws(() => sampleToken(Float32Array.of(-Infinity, NaN), { ...base, temperature: 0 }, 0), NonFiniteLogitsError);
  assert.throws(() => sampleToken(Float32Array.of(0, NaN), { ...base, temperature: 0, logprobs: 1 }, 0), NonFiniteLogitsError);
});

test("sampler - a 128k vocabulary samples inside the kept set on every path", () => {
  // Speed is measured in bench/, never asserted here; this checks the large-vocabulary paths are correct.
  const logits = makeLogits(LLAMA3_VOCAB, 42);
  const greedy = sampleToken(logits, { ...base, temperature: 0 }, 0).tokenId;
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  assert.equal(greedy, best);
  const ranked = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const top50 = new Set(ranked.slice(0, 50));
  for (let step = 0; step < 20; step++) {
    assert.ok(top50.has(sampleToken(logits, { ...base, temperature: 0.8, topK: 50 }, step).tokenId));
    const token = sampleToken(logits, { ...base, temperature: 0.8, topP: 0.9 }, step).tokenId;
    assert.ok(token >= 0 && token < LLAMA3_VOCAB);
  }
});
