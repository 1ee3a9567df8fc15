/**
 * min_tokens and include_stop_str_in_output in the stop checker, against a
 * one-shot oracle written independently of findStopString: scan every start
 * position of the whole text for every stop string.
 */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { BYTE_EOS_TOKEN_ID, BYTE_VOCAB_SIZE } from "@sigmaserve/model/tokenizer";
import fc from "fast-check";
import { type SamplingParamsInput, resolveSamplingParams } from "./sampling-params.js";
import { StopChecker, type StopDecision } from "./stop-checker.js";

const EOS = BYTE_EOS_TOKEN_ID;
const TEXT_TOKEN = 65;

function checker(input: SamplingParamsInput): StopChecker {
  const params = resolveSamplingParams(input, { maxTokensLimit: 1_000, vocabSize: BYTE_VOCAB_SIZE, drawSeed: () => 0n });
  return new StopChecker({ params, eosTokenIds: [EOS] });
}

test("stop checker - min_tokens: a stop string or a stop id inside the first min_tokens tokens ends nothing", () => {
  const stop = checker({ stop: ["END"], stopTokenIds: [10], minTokens: 3, maxTokens: 100 });
  assert.equal(stop.stopsOnTokenId(EOS), false);
  assert.deepEqual(stop.accept(TEXT_TOKEN, "a END b"), { finished: false, emitText: "a END b" });
  assert.deepEqual(stop.accept(EOS, ""), { finished: false, emitText: "" });
  assert.equal(stop.stopsOnTokenId(10), false);
  assert.deepEqual(stop.accept(10, "E"), { finished: false, emitText: "" });
  // From the 4th token on, both stop again; a stop string that began inside min_tokens but ends after it counts.
  assert.equal(stop.stopsOnTokenId(EOS), true);
  assert.deepEqual(stop.accept(TEXT_TOKEN, "ND"), { finished: true, reason: "stop", matchedStop: "END", emitText: "" });
});

test("stop checker - min_tokens: an occurrence wholly inside the first min_tokens tokens is not matched later", () => {
  // "xab" is held (a prefix of "xabyz") and holds "ab", which ended inside min_tokens.
  const stop = checker({ stop: ["ab", "xabyz"], minTokens: 1, maxTokens: 100 });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "xab"), { finished: false, emitText: "" });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "c"), { finished: false, emitText: "xabc" });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "ab"), { finished: true, reason: "stop", matchedStop: "ab", emitText: "" });
});

test("stop checker - include_stop_str_in_output keeps the stop string and streams without holding back", () => {
  const stop = checker({ stop: ["END"], includeStopStrInOutput: true, maxTokens: 100 });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "the E"), { finished: false, emitText: "the E" });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "ND tail"), { finished: true, reason: "stop", matchedStop: "END", emitText: "ND" });
});

test("stop checker - include_stop_str_in_output keeps a stop token's text; without it the text is dropped", () => {
  const keep = checker({ stopTokenIds: [10], includeStopStrInOutput: true, maxTokens: 100 });
  assert.deepEqual(keep.accept(10, "\n"), { finished: true, reason: "stop", matchedStopTokenId: 10, emitText: "\n" });
  const drop = checker({ stopTokenIds: [10], maxTokens: 100 });
  assert.deepEqual(drop.accept(10, "\n"), { finished: true, reason: "stop", matchedStopTokenId: 10, emitText: "" });
});

/** The oracle: what the whole stream must be, from the deltas alone. */
function oracle(deltas: readonly string[], stops: readonly string[], minTokens: number, include: boolean): { text: string; reason: "stop" | "length"; stop?: string } {
  const whole = deltas.join("");
  const boundary = deltas.slice(0, minTokens).join("").length;
  let best: { start: number; end: number; stop: string } | undefined;
  for (const stop of stops) {
    for (let start = 0; start + stop.length <= whole.length; start++) {
      const end = start + stop.length;
      if (end <= boundary || whole.slice(start, end) !== stop) continue;
      if (best === undefined || end < best.end || (end === best.end && start < best.start)) best = { start, end, stop };
    }
  }
  if (best === undefined) return { text: whole, reason: "length" };
  return { text: whole.slice(0, include ? best.end : best.start), reason: "stop", stop: best.stop };
}

const tokenTexts = fc.array(fc.stringMatching(/^[abc]{0,3}$/), { minLength: 1, maxLength: 12 });
const stopStrings = fc.array(fc.stringMatching(/^[abc]{1,3}$/), { minLength: 1, maxLength: 3 });

test("stop checker - property: with min_tokens and either include_stop_str_in_output, the stream is the oracle's", () => {
  fc.assert(
    fc.property(tokenTexts, stopStrings, fc.nat(14), fc.boolean(), (deltas, stops, minTokensRaw, include) => {
      const minTokens = Math.min(minTokensRaw, deltas.length);
      const stopChecker = checker({ stop: stops, minTokens, includeStopStrInOutput: include, maxTokens: deltas.length });
      let emitted = "";
      let last: StopDecision | undefined;
      for (const delta of deltas) {
        last = stopChecker.accept(TEXT_TOKEN, delta);
        emitted += last.emitText;
        if (last.finished) break;
      }
      const expected = oracle(deltas, stops, minTokens, include);
      assert.equal(emitted, expected.text);
      assert.ok(last?.finished);
      assert.equal(last.reason, expected.reason);
      if (expected.stop !== undefined) assert.equal(last.matchedStop, expected.stop);
    }),
    { numRuns: 3_000, seed: 23 },
  );
});

test("stop checker - property: with min_tokens, a replay at any token gives the same stream as no failover", () => {
  fc.assert(
    fc.property(tokenTexts, stopStrings, fc.nat(14), fc.boolean(), fc.nat(), (deltas, stops, minTokensRaw, include, cut) => {
      const minTokens = Math.min(minTokensRaw, deltas.length);
      const make = () => checker({ stop: stops, minTokens, includeStopStrInOutput: include, maxTokens: deltas.length });
      const stream = (c: StopChecker, from: readonly string[]) => {
        let text = "";
        let finished = false;
        for (const delta of from) {
          const decision = c.accept(TEXT_TOKEN, delta);
          text += decision.emitText;
          if ((finished = decision.finished)) break;
        }
        return { text, finished };
      };
      const at = cut % (deltas.length + 1);
      const before = stream(make(), deltas.slice(0, at));
      fc.pre(!before.finished);
      const resumed = make();
      // The router replays the text it received: with include_stop_str_in_output that is every delta.
      const sent = include ? deltas.slice(0, at).join("") : before.text;
      const replayText = include ? sent : deltas.slice(0, at).join("");
      const replayed = resumed.replay(Array.from({ length: at }, () => TEXT_TOKEN), replayText);
      const after = replayed.finished ? { text: "" } : stream(resumed, deltas.slice(at));
      assert.equal(before.text + replayed.emitText + after.text, stream(make(), deltas).text);
    }),
    { numRuns: 3_000, seed: 29 },
  );
});
