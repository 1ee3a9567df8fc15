/**
 * The vLLM sampling extensions over HTTP (issue 14): each OpenAI field lands
 * in the worker's SamplingParams on both endpoints, and a bad value is a 400
 * naming the field before any worker is called.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR } from "../testing/fake-worker.js";
import { jsonOf, postJson } from "../testing/post-json.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";

const FIELDS = { min_tokens: 2, repetition_penalty: 1.25, min_p: 0.125, stop_token_ids: [10, 258], include_stop_str_in_output: true, skip_special_tokens: false };

describe("http sampling fields - against a fake worker over gRPC", () => {
  let router: TestRouter;
  before(async () => {
    router = await startTestRouter();
  });
  after(() => router.close());
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    router.worker!.calls.length = 0;
  });

  for (const endpoint of ["completions", "chat/completions"] as const) {
    const prompt = endpoint === "completions" ? { prompt: "Hi" } : { messages: [{ role: "user", content: "Hi" }] };

    test(`http ${endpoint} - min_tokens, repetition_penalty, min_p, stop_token_ids, include_stop_str_in_output, skip_special_tokens reach the worker`, async () => {
      const { status } = await jsonOf(await postJson(`${router.baseUrl}/v1/${endpoint}`, { model: "sigma-tiny", ...prompt, max_tokens: 4, ...FIELDS }));
      assert.equal(status, 200);
      const sent = router.worker!.calls[0]!.request.sampling!;
      assert.deepEqual(
        [sent.minTokens, sent.repetitionPenalty, sent.minP, sent.stopTokenIds, sent.includeStopStrInOutput, sent.skipSpecialTokens],
        [2, 1.25, 0.125, [10, 258], true, false],
      );
    });

    test(`http ${endpoint} - unset (or null) fields keep the defaults: off, and skip_special_tokens unset (true)`, async () => {
      const nulls = Object.fromEntries(Object.keys(FIELDS).map((k) => [k, null]));
      for (const extra of [{}, nulls]) {
        router.worker!.calls.length = 0;
        await postJson(`${router.baseUrl}/v1/${endpoint}`, { model: "sigma-tiny", ...prompt, max_tokens: 4, ...extra });
        const sent = router.worker!.calls[0]!.request.sampling!;
        assert.deepEqual(
          [sent.minTokens, sent.repetitionPenalty, sent.minP, sent.stopTokenIds, sent.includeStopStrInOutput, sent.skipSpecialTokens],
          [0, undefined, 0, [], false, undefined],
        );
      }
    });

    test(`http ${endpoint} - bad values are a 400 naming the field; no worker is called`, async () => {
      const table: [Record<string, unknown>, string, string][] = [
        [{ min_tokens: 5 }, "min_tokens", "min_tokens: must be at most max_tokens (4), got 5"],
        [{ repetition_penalty: 0 }, "repetition_penalty", "repetition_penalty: must be a finite number > 0, got 0"],
        [{ min_p: 1.5 }, "min_p", "min_p: must be in [0, 1], got 1.5"],
        [{ stop_token_ids: [1, 259] }, "stop_token_ids[1]", "stop_token_ids[1]: 259 is outside the vocabulary [0, 259)"],
        [{ min_tokens: -1 }, "min_tokens", ""],
        [{ include_stop_str_in_output: "yes" }, "include_stop_str_in_output", ""],
        [{ skip_special_tokens: 1 }, "skip_special_tokens", ""],
      ];
      for (const [extra, param, message] of table) {
        const bad = await jsonOf(await postJson(`${router.baseUrl}/v1/${endpoint}`, { model: "sigma-tiny", ...prompt, max_tokens: 4, ...extra }));
        assert.equal(bad.status, 400, JSON.stringify(extra));
        assert.equal(bad.body.error.param, param, JSON.stringify(bad.body));
        if (message !== "") assert.equal(bad.body.error.message, message);
      }
      assert.equal(router.worker!.calls.length, 0);
    });
  }
});
