/**
 * The scheduler's spec, part 3: how a request ends. Cancellation frees its
 * blocks at once (or at the end of the step it is in), max_tokens and stops
 * end it in the update that samples the last token, and a failover replay
 * counts its tokens as generated ones. Prompts are letters here, so the fake
 * model's tokens (the last one plus one) read as the next letters.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepBench, chunksOf, run } from "./testing/step-bench.js";

const A = 97; // "a"

test("scheduler - cancelling a running request frees its blocks at once", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(0, 6), { maxTokens: 10 });
  bench.add("b", run(100, 5), { maxTokens: 2 });
  bench.step();
  assert.equal(bench.usedBlocks(), 4);
  bench.scheduler.cancel("a");
  assert.equal(bench.kv.has("a"), false);
  assert.equal(bench.usedBlocks(), 2);
  assert.equal(bench.output("a").finish?.reason, "cancelled");
  assert.equal(bench.output("a").finish?.usage.completionTokens, 1);
  assert.deepEqual(chunksOf(bench.step()), [["b", 5, 1]]);
  bench.scheduler.cancel("a"); // a second cancel is a no-op
  bench.assertDrained();
});

test("scheduler - cancelling a waiting request takes it out of the queue", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64, maxNumSeqs: 1 });
  bench.add("a", run(0, 4), { maxTokens: 2 });
  bench.add("b", run(100, 4), { maxTokens: 2 });
  bench.step();
  assert.deepEqual(bench.scheduler.waitingIds(), ["b"]);
  bench.scheduler.cancel("b");
  assert.deepEqual(bench.scheduler.waitingIds(), []);
  assert.equal(bench.output("b").finish?.reason, "cancelled");
  assert.deepEqual(bench.output("b").tokens, []);
  assert.deepEqual(chunksOf(bench.step()), [["a", 4, 1]]);
  bench.assertDrained();
});

test("scheduler - a request cancelled during its step keeps its blocks until the step's update, which frees them without sampling", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(0, 6), { maxTokens: 10 });
  bench.add("b", run(100, 6), { maxTokens: 1 });
  const plan = bench.schedule();
  bench.scheduler.cancel("a");
  // The model may be writing into a's blocks right now: they stay a's.
  assert.deepEqual(bench.kv.blockTable("a"), [0, 1]);
  assert.equal(bench.output("a").finish, undefined);
  bench.update(plan);
  assert.equal(bench.output("a").finish?.reason, "cancelled");
  assert.deepEqual(bench.output("a").tokens, []);
  assert.deepEqual(bench.output("b").tokens, [106]);
  bench.assertDrained();
  // a committed nothing, so only b's full block stays cached.
  assert.equal(bench.cachedFreeBlocks(), 1);
});

test("scheduler - cancelAll ends every request, waiting and running, and frees every block", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64, maxNumSeqs: 2 });
  for (const id of ["a", "b", "c"]) bench.add(id, run(0, 4), { maxTokens: 5, cacheSalt: id });
  bench.step();
  bench.scheduler.cancelAll();
  assert.deepEqual(["a", "b", "c"].map((id) => bench.output(id).finish?.reason), ["cancelled", "cancelled", "cancelled"]);
  bench.assertDrained();
});

test("scheduler - max_tokens ends a request in the update that samples its last token, and frees its blocks there", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", [A], { maxTokens: 3 });
  bench.step();
  bench.step();
  assert.equal(bench.usedBlocks(), 1);
  bench.step();
  assert.deepEqual(bench.output("a").tokens, [98, 99, 100]);
  assert.equal(bench.output("a").text, "bcd");
  assert.equal(bench.output("a").finish?.reason, "length");
  assert.deepEqual(bench.output("a").finish?.usage, { promptTokens: 1, completionTokens: 3, cachedPromptTokens: 0 });
  bench.assertDrained();
});

test("scheduler - a stop string ends a request, its text cut before the stop, and frees its blocks", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", [A], { maxTokens: 10, stop: ["cd"] });
  bench.step();
  bench.step();
  assert.equal(bench.output("a").text, "b"); // "c" is held back: it may start "cd"
  assert.equal(bench.output("a").finish, undefined);
  bench.step();
  assert.deepEqual(bench.output("a").tokens, [98, 99, 100]);
  assert.equal(bench.output("a").text, "b");
  assert.equal(bench.output("a").finish?.reason, "stop");
  assert.equal(bench.output("a").finish?.matchedStop, "cd");
  bench.assertDrained();
});

test("scheduler - a stop token id ends a request and frees its blocks", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", [A], { maxTokens: 10, stopTokenIds: [100] });
  bench.runToEnd();
  assert.deepEqual(bench.output("a").tokens, [98, 99, 100]);
  assert.equal(bench.output("a").text, "bc");
  assert.equal(bench.output("a").finish?.reason, "stop");
  assert.equal(bench.output("a").finish?.matchedStopTokenId, 100);
  bench.assertDrained();
});

test("scheduler - a failover replay computes its prompt and replayed tokens as one prefill and continues after them", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", [A, A + 1, A + 2], { maxTokens: 4, replayTokens: [A + 3, A + 4], replayText: "de" });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 5]]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 5, 1]]);
  // Only the new tokens stream (the bench checks their offsets start at 2), and both count toward max_tokens.
  assert.deepEqual(bench.output("a").tokens, [A + 5, A + 6]);
  assert.equal(bench.output("a").text, "fg");
  assert.deepEqual(bench.output("a").finish?.usage, { promptTokens: 3, completionTokens: 4, cachedPromptTokens: 0 });
  bench.assertDrained();
});

test("scheduler - a replay that already reaches max_tokens finishes at once, without a block or a step", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  assert.equal(bench.add("a", [A], { maxTokens: 2, replayTokens: [A + 1, A + 2], replayText: "bc" }), false);
  assert.equal(bench.output("a").finish?.reason, "length");
  assert.deepEqual(chunksOf(bench.schedule()), []);
  assert.equal(bench.scheduler.stats().stepsTotal, 0);
  bench.assertDrained();
});
