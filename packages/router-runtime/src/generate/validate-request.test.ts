/**
 * The router's request rules as a table: each request gets exactly the
 * violations listed (public proto paths, the worker's wording), all at once.
 */
import { create } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { contextViolations, FLOAT32_MAX, requestViolations, samplingViolations } from "./validate-request.js";

const limits = { vocabSize: 259, maxContextTokens: 2048 };
const sampling = (init: Parameters<typeof create<typeof inferencev1.SamplingParamsSchema>>[1]) => create(inferencev1.SamplingParamsSchema, init);

test("validate-request - sampling: each rule names its field and what was sent", () => {
  const table: [Parameters<typeof sampling>[0], [string, string][]][] = [
    [{}, []],
    [{ maxTokens: 1, temperature: 0, topP: 1, topK: 50, seed: 2n ** 64n - 1n, stop: ["\n"], stopTokenIds: [258], logprobs: 20 }, []],
    [{ temperature: FLOAT32_MAX }, []],
    [{ maxTokens: 0 }, [["sampling.max_tokens", "must be at least 1, got 0 (0 is allowed only with sampling.prompt_logprobs set)"]]],
    [{ maxTokens: 0, logprobs: 5 }, [["sampling.max_tokens", "must be at least 1, got 0 (0 is allowed only with sampling.prompt_logprobs set)"]]],
    [{ maxTokens: 0, promptLogprobs: 0 }, []],
    [{ maxTokens: 0, promptLogprobs: 20, logprobs: 3 }, []],
    [{ promptLogprobs: 21 }, [["sampling.prompt_logprobs", "must be at most 20, got 21"]]],
    [{ maxTokens: -1 }, [["sampling.max_tokens", "must be an integer in [0, 4294967295], got -1"]]],
    [{ temperature: 1e300 }, [["sampling.temperature", "must be at most 3.4028234663852886e+38 (the largest float32), got 1e+300"]]],
    [{ temperature: -0.5 }, [["sampling.temperature", "must be >= 0, got -0.5"]]],
    [{ temperature: Infinity }, [["sampling.temperature", "must be a finite number, got Infinity"]]],
    [{ temperature: NaN }, [["sampling.temperature", "must be a finite number, got NaN"]]],
    [{ topP: 0 }, [["sampling.top_p", "must be in (0, 1], got 0"]]],
    [{ topP: NaN }, [["sampling.top_p", "must be in (0, 1], got NaN"]]],
    [{ topP: 1e300 }, [["sampling.top_p", "must be in (0, 1], got 1e+300"]]],
    [{ topK: 1.5 }, [["sampling.top_k", "must be an integer in [0, 4294967295], got 1.5"]]],
    [{ seed: 2n ** 64n }, [["sampling.seed", "must be an integer in [0, 2^64), got 18446744073709551616"]]],
    [{ stop: Array.from({ length: 17 }, () => "x") }, [["sampling.stop", "must hold at most 16 strings, got 17"]]],
    [{ stop: ["a", "", ""] }, [["sampling.stop[1]", "must not be empty"]]],
    [{ stopTokenIds: [1, 259, 300] }, [["sampling.stop_token_ids[1]", "259 is outside the vocabulary [0, 259)"]]],
    [{ logprobs: 21 }, [["sampling.logprobs", "must be at most 20, got 21"]]],
    [{ maxTokens: 8, minTokens: 8, repetitionPenalty: 1.2, minP: 1, includeStopStrInOutput: true, skipSpecialTokens: false }, []],
    [{ maxTokens: 8, minTokens: 9 }, [["sampling.min_tokens", "must be at most max_tokens (8), got 9"]]],
    [{ minTokens: 17 }, [["sampling.min_tokens", "must be at most max_tokens (16, the default), got 17"]]],
    [{ minTokens: -1 }, [["sampling.min_tokens", "must be an integer in [0, 4294967295], got -1"]]],
    [{ repetitionPenalty: 0 }, [["sampling.repetition_penalty", "must be a finite number > 0, got 0"]]],
    [{ repetitionPenalty: -2 }, [["sampling.repetition_penalty", "must be a finite number > 0, got -2"]]],
    [{ repetitionPenalty: NaN }, [["sampling.repetition_penalty", "must be a finite number > 0, got NaN"]]],
    [{ repetitionPenalty: 1e300 }, [["sampling.repetition_penalty", "must be a finite number > 0, got 1e+300"]]],
    [{ minP: 1.01 }, [["sampling.min_p", "must be in [0, 1], got 1.01"]]],
    [{ minP: -0.5 }, [["sampling.min_p", "must be in [0, 1], got -0.5"]]],
    [{ minP: NaN }, [["sampling.min_p", "must be in [0, 1], got NaN"]]],
    [
      { temperature: -1, topP: 2, logprobs: 99 },
      [
        ["sampling.temperature", "must be >= 0, got -1"],
        ["sampling.top_p", "must be in (0, 1], got 2"],
        ["sampling.logprobs", "must be at most 20, got 99"],
      ],
    ],
  ];
  for (const [init, expected] of table) {
    const got = samplingViolations(sampling(init), limits).map((v) => [v.field, v.description]);
    assert.deepEqual(got, expected, JSON.stringify(init, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)));
  }
});

test("validate-request - an unknown vocabulary (0) leaves token ids to the worker", () => {
  assert.deepEqual(samplingViolations(sampling({ stopTokenIds: [1_000_000] }), { vocabSize: 0, maxContextTokens: 0 }), []);
});

test("validate-request - the prompt, client_request_id and priority, by public path", () => {
  const request = (init: Parameters<typeof create<typeof inferencev1.GenerateRequestSchema>>[1]) => create(inferencev1.GenerateRequestSchema, { model: "m", ...init });
  const table: [ReturnType<typeof request>, [string, string][]][] = [
    [request({ prompt: { case: "text", value: "hi" } }), []],
    [request({}), [["prompt", "set either text or token_ids"]]],
    [request({ prompt: { case: "text", value: "" } }), [["text", "must not be empty"]]],
    [request({ prompt: { case: "tokenIds", value: { ids: [] } } }), [["token_ids.ids", "must not be empty"]]],
    [request({ prompt: { case: "tokenIds", value: { ids: [1, 2, 259, 400] } } }), [["token_ids.ids[2]", "259 is outside the vocabulary [0, 259)"]]],
    [request({ prompt: { case: "text", value: "hi" }, clientRequestId: "x".repeat(129) }), [["client_request_id", "must be at most 128 characters, got 129"]]],
    [request({ prompt: { case: "text", value: "hi" }, priority: 2 ** 31 }), [["priority", "must be an int32, got 2147483648"]]],
    [
      request({ prompt: { case: "text", value: "" }, sampling: { topP: 5 }, priority: 0.5 }),
      [
        ["text", "must not be empty"],
        ["sampling.top_p", "must be in (0, 1], got 5"],
        ["priority", "must be an int32, got 0.5"],
      ],
    ],
  ];
  for (const [req, expected] of table) assert.deepEqual(requestViolations(req, limits).map((v) => [v.field, v.description]), expected);
});

test("validate-request - the context: the prompt must leave room, and max_tokens must fit", () => {
  assert.deepEqual(contextViolations(2047, 1, limits, "text"), []);
  assert.deepEqual(contextViolations(2047, undefined, limits, "text"), []);
  assert.deepEqual(contextViolations(2048, undefined, limits, "token_ids"), [{ field: "token_ids", description: "2048 prompt tokens leave no room in the context of 2048 tokens" }]);
  assert.deepEqual(contextViolations(100, 1949, limits, "text"), [{ field: "sampling.max_tokens", description: "1949 plus the 100 prompt tokens exceed the context of 2048 tokens" }]);
  assert.deepEqual(contextViolations(1_000_000, 1, { vocabSize: 259, maxContextTokens: 0 }, "text"), [], "unknown context: the worker checks");
});
