import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { stopReasonOf, usageOfChoices } from "./generation.js";

const finish = (fields: MessageInitShape<typeof inferencev1.GenerateFinishSchema>) => create(inferencev1.GenerateFinishSchema, fields);
const EOS = 257;

test("generation - stop_reason is the matched stop string, a listed stop token id, or null", () => {
  const stop = inferencev1.FinishReason.STOP;
  assert.equal(stopReasonOf(finish({ finishReason: stop, matchedStop: "\n\n" }), []), "\n\n");
  assert.equal(stopReasonOf(finish({ finishReason: stop, matchedStopTokenId: 42 }), [7, 42]), 42);
  assert.equal(stopReasonOf(finish({ finishReason: stop, matchedStopTokenId: 0 }), [0]), 0, "token id 0 is an id, not a missing one");
  // EOS is reported as a matched stop token by the worker; vLLM says null for it.
  assert.equal(stopReasonOf(finish({ finishReason: stop, matchedStopTokenId: EOS }), [42]), null);
  assert.equal(stopReasonOf(finish({ finishReason: inferencev1.FinishReason.LENGTH }), []), null);
  assert.equal(stopReasonOf(finish({ finishReason: inferencev1.FinishReason.CANCELLED, matchedStop: "x" }), []), null);
});

test("generation - the usage of n choices counts the prompt once and sums the completions", () => {
  const usage = (completionTokens: number, cachedPromptTokens: number) => finish({ usage: { promptTokens: 10, completionTokens, cachedPromptTokens } });
  assert.deepEqual(usageOfChoices([usage(3, 0), usage(5, 8)]), { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18, prompt_tokens_details: { cached_tokens: 8 } });
  assert.deepEqual(usageOfChoices([usage(3, 4)]), { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13, prompt_tokens_details: { cached_tokens: 4 } });
});
