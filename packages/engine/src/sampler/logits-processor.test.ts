import * as assert from "node:assert/strict";
import { test } from "node:test";
import { LogitsProcessor } from "./logits-processor.js";
import { type SampledToken, type SamplerParams, sampleToken } from "./sample-token.js";

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

/** The oracle: HF's RepetitionPenaltyLogitsProcessor spelled out on a plain array, then stored as float32. */
function penalized(logits: Float32Array, seenIds: readonly number[], penalty: number): Float32Array {
  const out = Float32Array.from(logits);
  for (const id of new Set(seenIds)) out[id] = logits[id]! > 0 ? logits[id]! / penalty : logits[id]! * penalty;
  return out;
}

const params = (overrides: Partial<SamplerParams> = {}): SamplerParams => ({ temperature: 1, topP: 1, topK: 0, seed: 77n, logprobs: undefined, ...overrides });

test("logits processor - the repetition penalty divides positive logits and multiplies the rest, once per distinct id", () => {
  const logits = Float32Array.from([2, -1, 0.5, 3, -2, 0]);
  const processor = new LogitsProcessor({ repetitionPenalty: 2, minTokens: 0 }, [], [0, 1, 1, 5]);
  assert.deepEqual([...processor.apply(logits, 0)], [1, -2, 0.5, 3, -2, 0]);
  processor.observe(3);
  assert.deepEqual([...processor.apply(logits, 1)], [1, -2, 0.5, 1.5, -2, 0]);
  // The caller's row is left as it was (logprobs are computed from it).
  assert.deepEqual([...logits], [2, -1, 0.5, 3, -2, 0]);
  // A penalty below 1 favours what was seen, by the same rule.
  const favour = new LogitsProcessor({ repetitionPenalty: 0.5, minTokens: 0 }, [], [0, 1]);
  assert.deepEqual([...favour.apply(logits, 0)], [4, -0.5, 0.5, 3, -2, 0]);
});

test("logits processor - off (penalty 1, no min_tokens) hands back the row itself", () => {
  const logits = makeLogits(32, 1);
  const processor = new LogitsProcessor({ repetitionPenalty: 1, minTokens: 0 }, [5], [1, 2, 3]);
  assert.equal(processor.isActive(0), false);
  assert.equal(processor.apply(logits, 0), logits);
});

test("logits processor - min_tokens masks the stop ids until min_tokens tokens were generated, then lifts the mask", () => {
  const logits = Float32Array.from([0, 1, 9, 2]);
  const processor = new LogitsProcessor({ repetitionPenalty: 1, minTokens: 2 }, [2, 3], []);
  assert.deepEqual([...processor.apply(logits, 0)], [0, 1, -Infinity, -Infinity]);
  assert.deepEqual([...processor.apply(logits, 1)], [0, 1, -Infinity, -Infinity]);
  assert.equal(processor.apply(logits, 2), logits);
  // Greedy: the masked best token is not taken before min_tokens, and is after.
  const greedy = params({ temperature: 0 });
  assert.equal(sampleToken(logits, greedy, 0, undefined, processor).tokenId, 1);
  assert.equal(sampleToken(logits, greedy, 2, undefined, processor).tokenId, 2);
});

test("logits processor - sampling with the processor equals sampling the oracle's row, on every path, over many steps", () => {
  const vocabSize = 300;
  const prompt = [3, 17, 17, 42, 250, 299];
  for (const sampler of [params(), params({ temperature: 0.7, topK: 20 }), params({ temperature: 1.3, topP: 0.8 }), params({ temperature: 0 }), params({ minP: 0.1, topK: 50, topP: 0.9 })]) {
    const processor = new LogitsProcessor({ repetitionPenalty: 1.8, minTokens: 0 }, [], prompt);
    const history = [...prompt];
    for (let step = 0; step < 40; step++) {
      const logits = makeLogits(vocabSize, 1000 + step);
      const got = sampleToken(logits, sampler, step, undefined, processor).tokenId;
      const expected = sampleToken(penalized(logits, history, 1.8), sampler, step).tokenId;
      assert.equal(got, expected, `step ${step} of ${JSON.stringify(sampler, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
      processor.observe(got);
      history.push(got);
    }
  }
});

test("logits processor - a penalty > 1 makes repeats rarer: greedy on a flat row walks through unseen ids", () => {
  const logits = new Float32Array(8).fill(1);
  const processor = new LogitsProcessor({ repetitionPenalty: 1.5, minTokens: 0 }, [], [0]);
  const tokens: number[] = [];
  for (let step = 0; step < 7; step++) {
    const token = sampleToken(logits, params({ temperature: 0 }), step, undefined, processor).tokenId;
    tokens.push(token);
    processor.observe(token);
  }
  assert.deepEqual(tokens, [1, 2, 3, 4, 5, 6, 7]);
});

test("logits processor - rebuilt from prompt + replayed tokens it samples what the original did (failover replay)", () => {
  const prompt = [10, 11, 12];
  const sampler = params({ temperature: 0.9, seed: 9n });
  const run = (from: number, replayed: readonly number[]): number[] => {
    const processor = new LogitsProcessor({ repetitionPenalty: 1.3, minTokens: 4 }, [7], [...prompt, ...replayed]);
    const out = [...replayed];
    for (let step = from; step < 12; step++) {
      const token = sampleToken(makeLogits(64, step, 6), sampler, step, undefined, processor).tokenId;
      out.push(token);
      processor.observe(token);
    }
    return out;
  };
  const whole = run(0, []);
  for (const cut of [1, 3, 4, 7]) assert.deepEqual(run(cut, whole.slice(0, cut)), whole, `replay after ${cut} tokens`);
  assert.ok(!whole.slice(0, 4).includes(7), "the stop id is never sampled before min_tokens");
});

test("logits processor - logprobs stay the raw model's (vLLM raw_logprobs) while the choice uses the processed row", () => {
  const logits = Float32Array.from([3, 1, 0, -1]);
  const processor = new LogitsProcessor({ repetitionPenalty: 1, minTokens: 1 }, [0], []);
  const out: SampledToken = { tokenId: -1, logprob: undefined };
  sampleToken(logits, params({ temperature: 0, logprobs: 1 }), 0, out, processor);
  const logZ = Math.log([3, 1, 0, -1].reduce((sum, l) => sum + Math.exp(l), 0));
  assert.equal(out.tokenId, 1);
  assert.ok(Math.abs(out.logprob! - (1 - logZ)) < 1e-6);
  assert.equal(out.topLogprobs![0]!.tokenId, 0);
});
