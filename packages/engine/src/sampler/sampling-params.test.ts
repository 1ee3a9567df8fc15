import * as assert from "node:assert/strict";
import { test } from "node:test";
import { SamplingParamsError } from "./errors.js";
import { type SamplingLimits, type SamplingParamsInput, resolveSamplingParams } from "./sampling-params.js";

const limits: SamplingLimits = { maxTokensLimit: 2048, vocabSize: 259, drawSeed: () => 42n };

/** Asserts that `input` is refused for `field` with exactly `message`. */
function assertRefused(input: SamplingParamsInput, field: string, message: string): void {
  assert.throws(
    () => resolveSamplingParams(input, limits),
    (err: unknown) => {
      assert.ok(err instanceof SamplingParamsError);
      assert.equal(err.name, "SamplingParamsError");
      assert.equal(err.field, field);
      assert.equal(err.message, message);
      return true;
    },
  );
}

test("sampling params - an empty request gets every default and a drawn seed", () => {
  const params = resolveSamplingParams({}, limits);
  assert.deepEqual(params, {
    maxTokens: 16,
    temperature: 1,
    topP: 1,
    topK: 0,
    seed: 42n,
    stop: [],
    stopTokenIds: [],
    logprobs: undefined,
    promptLogprobs: undefined,
    ignoreEos: false,
    minTokens: 0,
    repetitionPenalty: 1,
    minP: 0,
    includeStopStrInOutput: false,
    skipSpecialTokens: true,
  });
  assert.ok(Object.isFrozen(params));
  assert.ok(Object.isFrozen(params.stop));
  assert.ok(Object.isFrozen(params.stopTokenIds));
});

test("sampling params - given values are kept and copied", () => {
  const stop = ["END"];
  const params = resolveSamplingParams(
    { maxTokens: 100, temperature: 0, topP: 0.9, topK: 40, seed: 2n ** 64n - 1n, stop, stopTokenIds: [0, 258], logprobs: 0, promptLogprobs: 2, ignoreEos: true, minTokens: 5, repetitionPenalty: 1.3, minP: 0.05, includeStopStrInOutput: true, skipSpecialTokens: false },
    limits,
  );
  assert.deepEqual(params, {
    maxTokens: 100,
    temperature: 0,
    topP: 0.9,
    topK: 40,
    seed: 2n ** 64n - 1n,
    stop: ["END"],
    stopTokenIds: [0, 258],
    logprobs: 0,
    promptLogprobs: 2,
    ignoreEos: true,
    minTokens: 5,
    repetitionPenalty: 1.3,
    minP: 0.05,
    includeStopStrInOutput: true,
    skipSpecialTokens: false,
  });
  stop.push("later");
  assert.deepEqual(params.stop, ["END"]);
});

test("sampling params - max_tokens 0 means the default, capped by the room the prompt leaves", () => {
  assert.equal(resolveSamplingParams({ maxTokens: 0 }, limits).maxTokens, 16);
  assert.equal(resolveSamplingParams({}, { ...limits, defaultMaxTokens: 64 }).maxTokens, 64);
  assert.equal(resolveSamplingParams({}, { ...limits, maxTokensLimit: 10 }).maxTokens, 10);
  assert.equal(resolveSamplingParams({ maxTokens: 2048 }, limits).maxTokens, 2048);
});

test("sampling params - a drawn seed is reduced to u64", () => {
  assert.equal(resolveSamplingParams({}, { ...limits, drawSeed: () => 2n ** 64n + 5n }).seed, 5n);
});

test("sampling params - each rule names its field", () => {
  assertRefused({ maxTokens: 5000 }, "sampling.max_tokens", "sampling.max_tokens: must be at most 2048, got 5000");
  assertRefused({ maxTokens: 1.5 }, "sampling.max_tokens", "sampling.max_tokens: must be an integer in [0, 4294967295], got 1.5");
  assertRefused({ temperature: -1 }, "sampling.temperature", "sampling.temperature: must be >= 0, got -1");
  assertRefused({ temperature: NaN }, "sampling.temperature", "sampling.temperature: must be a finite number, got NaN");
  assertRefused({ temperature: Infinity }, "sampling.temperature", "sampling.temperature: must be a finite number, got Infinity");
  assertRefused({ topP: 0 }, "sampling.top_p", "sampling.top_p: must be in (0, 1], got 0");
  assertRefused({ topP: 1.01 }, "sampling.top_p", "sampling.top_p: must be in (0, 1], got 1.01");
  assertRefused({ topP: NaN }, "sampling.top_p", "sampling.top_p: must be in (0, 1], got NaN");
  assertRefused({ topK: -1 }, "sampling.top_k", "sampling.top_k: must be an integer in [0, 4294967295], got -1");
  assertRefused({ seed: -1n }, "sampling.seed", "sampling.seed: must be an integer in [0, 2^64), got -1");
  assertRefused({ seed: 2n ** 64n }, "sampling.seed", "sampling.seed: must be an integer in [0, 2^64), got 18446744073709551616");
  assertRefused({ stop: ["a", ""] }, "sampling.stop[1]", "sampling.stop[1]: must not be empty");
  assertRefused(
    { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) },
    "sampling.stop",
    "sampling.stop: must hold at most 16 strings, got 17",
  );
  assertRefused({ stopTokenIds: [1, 2, 300] }, "sampling.stop_token_ids[2]", "sampling.stop_token_ids[2]: 300 is outside the vocabulary [0, 259)");
  assertRefused({ stopTokenIds: [-1] }, "sampling.stop_token_ids[0]", "sampling.stop_token_ids[0]: -1 is outside the vocabulary [0, 259)");
  assertRefused({ logprobs: 21 }, "sampling.logprobs", "sampling.logprobs: must be at most 20, got 21");
  assertRefused({ logprobs: -1 }, "sampling.logprobs", "sampling.logprobs: must be an integer in [0, 4294967295], got -1");
  assertRefused({ promptLogprobs: 21 }, "sampling.prompt_logprobs", "sampling.prompt_logprobs: must be at most 20, got 21");
});

test("sampling params - max_tokens 0 with prompt_logprobs is a scoring request; without, it means the default", () => {
  const scoring = resolveSamplingParams({ maxTokens: 0, promptLogprobs: 4 }, limits);
  assert.deepEqual([scoring.maxTokens, scoring.promptLogprobs, scoring.minTokens], [0, 4, 0]);
  assert.deepEqual([resolveSamplingParams({ maxTokens: 0 }, limits).maxTokens, resolveSamplingParams({ promptLogprobs: 0 }, limits).promptLogprobs], [16, 0]);
});

test("sampling params - the edges of each rule are accepted", () => {
  const params = resolveSamplingParams(
    { maxTokens: 1, topP: 1, topK: 1_000_000, logprobs: 20, stop: Array.from({ length: 16 }, (_, i) => `s${i}`), seed: 0n },
    limits,
  );
  assert.equal(params.maxTokens, 1);
  assert.equal(params.topK, 1_000_000);
  assert.equal(params.logprobs, 20);
  assert.equal(params.stop.length, 16);
  assert.equal(params.seed, 0n);
});

test("sampling params - a prompt that fills the context leaves no room", () => {
  assert.throws(
    () => resolveSamplingParams({}, { ...limits, maxTokensLimit: 0 }),
    new SamplingParamsError("sampling.max_tokens", "the prompt leaves no room to generate (limit 0)"),
  );
});

test("sampling params - min_tokens, repetition_penalty and min_p are refused out of range, naming the field", () => {
  assertRefused({ minTokens: -1 }, "sampling.min_tokens", "sampling.min_tokens: must be an integer in [0, 4294967295], got -1");
  assertRefused({ repetitionPenalty: 0 }, "sampling.repetition_penalty", "sampling.repetition_penalty: must be a finite number > 0, got 0");
  assertRefused({ repetitionPenalty: -1 }, "sampling.repetition_penalty", "sampling.repetition_penalty: must be a finite number > 0, got -1");
  assertRefused({ repetitionPenalty: Number.NaN }, "sampling.repetition_penalty", "sampling.repetition_penalty: must be a finite number > 0, got NaN");
  assertRefused({ repetitionPenalty: Infinity }, "sampling.repetition_penalty", "sampling.repetition_penalty: must be a finite number > 0, got Infinity");
  assertRefused({ minP: 1.5 }, "sampling.min_p", "sampling.min_p: must be in [0, 1], got 1.5");
  assertRefused({ minP: -0.1 }, "sampling.min_p", "sampling.min_p: must be in [0, 1], got -0.1");
  assertRefused({ minP: Number.NaN }, "sampling.min_p", "sampling.min_p: must be in [0, 1], got NaN");
});

test("sampling params - min_tokens above max_tokens is capped (a prefill stage asks for 1 token with the request's min_tokens)", () => {
  assert.equal(resolveSamplingParams({ maxTokens: 1, minTokens: 8 }, limits).minTokens, 1);
  assert.equal(resolveSamplingParams({ maxTokens: 10, minTokens: 8 }, limits).minTokens, 8);
});
