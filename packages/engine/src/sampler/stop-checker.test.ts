import * as assert from "node:assert/strict";
import { test } from "node:test";
import { BYTE_EOS_TOKEN_ID, BYTE_VOCAB_SIZE, ByteTokenizer } from "@sigmaserve/model/tokenizer";
import fc from "fast-check";
import { StopCheckerStateError } from "./errors.js";
import { findStopString, truncateAtStop } from "./find-stop-string.js";
import { type SamplingParamsInput, resolveSamplingParams } from "./sampling-params.js";
import { type StopDecision, StopChecker } from "./stop-checker.js";

const EOS = BYTE_EOS_TOKEN_ID;
const TEXT_TOKEN = 65;

function checker(input: SamplingParamsInput): StopChecker {
  const params = resolveSamplingParams(input, { maxTokensLimit: 1_000, vocabSize: BYTE_VOCAB_SIZE, drawSeed: () => 0n });
  return new StopChecker({ params, eosTokenIds: [EOS] });
}

/** Feeds text deltas (each with an ordinary token id) and returns every decision. */
function feedTexts(stop: StopChecker, deltas: readonly string[]): StopDecision[] {
  return deltas.map((delta) => stop.accept(TEXT_TOKEN, delta));
}

test("stop checker - a stop string split across tokens is held back, then dropped", () => {
  const stop = checker({ stop: ["END"], maxTokens: 100 });
  assert.deepEqual(feedTexts(stop, ["the E", "ND"]), [
    { finished: false, emitText: "the " },
    { finished: true, reason: "stop", matchedStop: "END", emitText: "" },
  ]);
});

test("stop checker - a partial match that fails is released whole", () => {
  const stop = checker({ stop: ["END"], maxTokens: 100 });
  assert.deepEqual(feedTexts(stop, ["E", "N", "x"]), [
    { finished: false, emitText: "" },
    { finished: false, emitText: "" },
    { finished: false, emitText: "ENx" },
  ]);
  // Text after a failed partial match may itself start a new one.
  assert.deepEqual(feedTexts(stop, ["EEN", "D tail"]), [
    { finished: false, emitText: "E" },
    { finished: true, reason: "stop", matchedStop: "END", emitText: "" },
  ]);
});

test("stop checker - with several stop strings the earliest occurrence wins and the output ends before it", () => {
  const stop = checker({ stop: ["STOP", "END"], maxTokens: 100 });
  assert.deepEqual(feedTexts(stop, ["a E", "ND b STOP"]), [
    { finished: false, emitText: "a " },
    { finished: true, reason: "stop", matchedStop: "END", emitText: "" },
  ]);
  const inOneDelta = checker({ stop: ["END", "STOP"], maxTokens: 100 });
  assert.deepEqual(feedTexts(inOneDelta, ["x STOP y END"]), [{ finished: true, reason: "stop", matchedStop: "STOP", emitText: "x " }]);
});

test("stop checker - a stop token id stops and its text is not emitted; held text is released", () => {
  const stop = checker({ stop: ["AB"], stopTokenIds: [10], maxTokens: 100 });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "xA"), { finished: false, emitText: "x" });
  assert.equal(stop.stopsOnTokenId(10), true);
  assert.deepEqual(stop.accept(10, "\n"), { finished: true, reason: "stop", matchedStopTokenId: 10, emitText: "A" });
  assert.equal(stop.numGeneratedTokens, 2);
});

test("stop checker - EOS stops with its id", () => {
  const stop = checker({ maxTokens: 100 });
  assert.deepEqual(stop.accept(TEXT_TOKEN, "hi"), { finished: false, emitText: "hi" });
  assert.deepEqual(stop.accept(EOS, ""), { finished: true, reason: "stop", matchedStopTokenId: EOS, emitText: "" });
});

test("stop checker - ignore_eos generates past EOS until max_tokens, but listed stop ids still stop", () => {
  const stop = checker({ ignoreEos: true, maxTokens: 3 });
  assert.equal(stop.stopsOnTokenId(EOS), false);
  assert.deepEqual(
    [stop.accept(EOS, ""), stop.accept(TEXT_TOKEN, "a"), stop.accept(EOS, "")],
    [{ finished: false, emitText: "" }, { finished: false, emitText: "a" }, { finished: true, reason: "length", emitText: "" }],
  );
  const listed = checker({ ignoreEos: true, stopTokenIds: [EOS], maxTokens: 3 });
  assert.deepEqual(listed.accept(EOS, ""), { finished: true, reason: "stop", matchedStopTokenId: EOS, emitText: "" });
});

test("stop checker - max_tokens ends with length and releases the held text", () => {
  const stop = checker({ stop: ["END"], maxTokens: 3 });
  assert.equal(stop.tokensLeft, 3);
  assert.deepEqual(feedTexts(stop, ["a", "b", "E"]), [
    { finished: false, emitText: "a" },
    { finished: false, emitText: "b" },
    { finished: true, reason: "length", emitText: "E" },
  ]);
  assert.equal(stop.tokensLeft, 0);
  assert.deepEqual(stop.finalDecision, { finished: true, reason: "length", emitText: "E" });
});

test("stop checker - on the last allowed token a stop id or a stop string beats length", () => {
  const byString = checker({ stop: ["END"], maxTokens: 2 });
  assert.deepEqual(feedTexts(byString, ["E", "ND"]).at(-1), { finished: true, reason: "stop", matchedStop: "END", emitText: "" });
  const byId = checker({ maxTokens: 1 });
  assert.deepEqual(byId.accept(EOS, ""), { finished: true, reason: "stop", matchedStopTokenId: EOS, emitText: "" });
});

test("stop checker - a token after the finish is a StopCheckerStateError", () => {
  const stop = checker({ maxTokens: 1 });
  stop.accept(TEXT_TOKEN, "a");
  assert.throws(() => stop.accept(TEXT_TOKEN, "b"), StopCheckerStateError);
  assert.throws(() => stop.replay([], ""), StopCheckerStateError);
});

test("stop checker - replay counts the old tokens and finds a stop string spanning the boundary without re-emitting", () => {
  // The first worker streamed "foo " and held back "E" (it may start "END").
  const resumed = checker({ stop: ["END"], maxTokens: 100 });
  assert.deepEqual(resumed.replay([1, 2, 3], "foo E"), { finished: false, emitText: "" });
  assert.equal(resumed.numGeneratedTokens, 3);
  assert.deepEqual(resumed.accept(TEXT_TOKEN, "ND more"), { finished: true, reason: "stop", matchedStop: "END", emitText: "" });

  const released = checker({ stop: ["END"], maxTokens: 100 });
  released.replay([1, 2, 3], "foo E");
  assert.deepEqual(released.accept(TEXT_TOKEN, "x"), { finished: false, emitText: "Ex" });
});

test("stop checker - replayed tokens count toward max_tokens", () => {
  const stop = checker({ stop: ["END"], maxTokens: 4 });
  stop.replay([1, 2, 3], "abc");
  assert.equal(stop.tokensLeft, 1);
  assert.deepEqual(stop.accept(TEXT_TOKEN, "d"), { finished: true, reason: "length", emitText: "d" });

  const alreadyDone = checker({ stop: ["END"], maxTokens: 3 });
  assert.deepEqual(alreadyDone.replay([1, 2, 3], "abE"), { finished: true, reason: "length", emitText: "E" });
  const stoppedByString = checker({ stop: ["END"], maxTokens: 9 });
  assert.deepEqual(stoppedByString.replay([1, 2], "a END"), { finished: true, reason: "stop", matchedStop: "END", emitText: "" });
  const stoppedById = checker({ maxTokens: 9 });
  assert.deepEqual(stoppedById.replay([1, EOS], "a"), { finished: true, reason: "stop", matchedStopTokenId: EOS, emitText: "" });
  assert.throws(() => stop.replay([1], "a"), StopCheckerStateError);
});

test("stop checker - with the byte tokenizer's detokenizer a multi-byte stop string is cut exactly", () => {
  const tokenizer = new ByteTokenizer();
  const ids = tokenizer.encode("café! more");
  const detokenizer = tokenizer.createDetokenizer();
  const stop = checker({ stop: ["é!"], maxTokens: 100 });
  let emitted = "";
  let last: StopDecision | undefined;
  for (const id of ids) {
    last = stop.accept(id, detokenizer.push([id]));
    emitted += last.emitText;
    if (last.finished) break;
  }
  assert.equal(emitted, "caf");
  assert.deepEqual(last, { finished: true, reason: "stop", matchedStop: "é!", emitText: "" });
});

/** Token texts over a small alphabet so that stop strings occur and half-occur often. */
const tokenTexts = fc.array(fc.string({ unit: fc.constantFrom("a", "b", "E", "N", "D", "é"), maxLength: 4 }), { maxLength: 24 });
const stopStrings = fc.array(fc.string({ unit: fc.constantFrom("a", "b", "E", "N", "D", "é"), minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 4,
});

/** Runs a checker over `deltas` (max_tokens = their count) and returns what it emitted and how it ended. */
function run(stop: readonly string[], deltas: readonly string[], maxTokens = Math.max(1, deltas.length)) {
  const stopChecker = checker({ stop: [...stop], maxTokens });
  let emitted = "";
  let last: StopDecision = { finished: false, emitText: "" };
  for (const delta of deltas) {
    last = stopChecker.accept(TEXT_TOKEN, delta);
    emitted += last.emitText;
    if (last.finished) break;
  }
  return { emitted, last };
}

test("stop checker - property: the streamed text equals the one-shot truncation at the first stop string", () => {
  fc.assert(
    fc.property(tokenTexts, stopStrings, (deltas, stop) => {
      fc.pre(deltas.length > 0);
      const whole = deltas.join("");
      const { emitted, last } = run(stop, deltas);
      assert.equal(emitted, truncateAtStop(whole, stop));
      assert.equal(last.finished, true);
      const match = findStopString(whole, stop);
      if (match === undefined) assert.deepEqual(last, { finished: true, reason: "length", emitText: last.emitText });
      else assert.equal(last.finished && last.matchedStop, match.stop);
    }),
    { numRuns: 2_000, seed: 7 },
  );
});

test("stop checker - property: a replay at any token gives the same stream as no failover", () => {
  fc.assert(
    fc.property(tokenTexts, stopStrings, fc.nat(), (deltas, stop, cut) => {
      fc.pre(deltas.length > 0);
      const at = cut % (deltas.length + 1);
      const before = run(stop, deltas.slice(0, at), deltas.length);
      fc.pre(!before.last.finished);
      const resumed = checker({ stop: [...stop], maxTokens: deltas.length });
      let emitted = before.emitted + resumed.replay(Array.from({ length: at }, () => TEXT_TOKEN), deltas.slice(0, at).join("")).emitText;
      for (const delta of deltas.slice(at)) {
        const decision = resumed.accept(TEXT_TOKEN, delta);
        emitted += decision.emitText;
        if (decision.finished) break;
      }
      assert.equal(emitted, run(stop, deltas).emitted);
    }),
    { numRuns: 2_000, seed: 11 },
  );
});
