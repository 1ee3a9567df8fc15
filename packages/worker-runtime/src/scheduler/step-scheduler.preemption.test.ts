/**
 * The scheduler's spec, part 2: what happens when the cache is full. Exactly
 * which request is preempted, that its blocks are freed (a full block stays
 * cached, tail evicted before head), that it comes back later on what is left
 * of its prefix, and when a request too big for the whole cache fails instead.
 * Pools here hold 2 to 5 blocks of 4 tokens.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepBench, chunksOf, run, samplersOf } from "./testing/step-bench.js";

test("scheduler - preempts the newest running request when a decode step finds no free block", () => {
  const bench = new StepBench({ numBlocks: 6, maxBatchTokens: 64 });
  bench.add("a", run(0, 7), { maxTokens: 3 });
  bench.add("b", run(100, 5), { maxTokens: 3 });
  bench.add("c", run(200, 7), { maxTokens: 5 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 7], ["b", 0, 5], ["c", 0, 7]]);
  assert.deepEqual([bench.kv.blockTable("a"), bench.kv.blockTable("b"), bench.kv.blockTable("c")], [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 7, 1], ["b", 5, 1], ["c", 7, 1]]); // a and c: both blocks full

  // a's ninth token needs a third block and none is free: c, the newest, goes (b still has room and stays).
  const full = bench.schedule();
  assert.deepEqual(full.preemptedIds, ["c"]);
  assert.deepEqual(chunksOf(full), [["a", 8, 1], ["b", 6, 1]]);
  assert.equal(bench.kv.has("c"), false);
  assert.deepEqual(bench.scheduler.waitingIds(), ["c"]);
  assert.equal(bench.scheduler.stats().preemptionsTotal, 1);
  // c's two full blocks were cached on release, tail (5) first in the LRU; a's new block evicted it.
  assert.deepEqual(bench.kv.blockTable("a"), [0, 1, 5]);
  assert.equal(bench.usedBlocks(), 5);
  assert.equal(bench.cachedFreeBlocks(), 1);
  bench.update(full); // a's and b's third token: both finish
  assert.deepEqual([bench.output("a").tokens, bench.output("b").tokens], [[7, 8, 9], [105, 106, 107]]);

  // c comes back with its 7 prompt tokens and the 2 it generated. Its head block (4) is still cached;
  // it recomputes the other 5 tokens into the free blocks b and a left last (3, then 5).
  const back = bench.schedule();
  assert.deepEqual(chunksOf(back), [["c", 4, 5]]);
  assert.deepEqual(samplersOf(back), ["c"]);
  assert.deepEqual(bench.kv.blockTable("c"), [4, 3, 5]);
  bench.update(back);
  // Its progress as the trace sees it: the 7-token prompt chunk, the preemption with 8 tokens computed (7 + the
  // first generated one), and the 5 tokens recomputed when it came back.
  assert.deepEqual(bench.output("c").progress, ["chunk 7 to 7/7", "preempted at 8", "chunk 5 to 9/9"]);
  assert.deepEqual(chunksOf(bench.step()), [["c", 9, 1]]);
  assert.deepEqual(chunksOf(bench.step()), [["c", 10, 1]]);
  // The stream went on as if nothing happened, and the usage reports the first admission's cache hits.
  assert.deepEqual(bench.output("c").tokens, [207, 208, 209, 210, 211]);
  assert.equal(bench.output("c").finish?.reason, "length");
  assert.equal(bench.output("c").finish?.usage.cachedPromptTokens, 0);
  bench.assertDrained();
});

test("scheduler - preempts the lowest-priority running request, even when it arrived first", () => {
  const bench = new StepBench({ numBlocks: 4, maxBatchTokens: 64 });
  bench.add("early-low", run(0, 7), { maxTokens: 3, priority: 5 });
  bench.add("late-high", run(100, 7), { maxTokens: 3, priority: 0 });
  assert.deepEqual(chunksOf(bench.step()), [["late-high", 0, 7], ["early-low", 0, 7]]);
  assert.deepEqual(chunksOf(bench.step()), [["late-high", 7, 1], ["early-low", 7, 1]]);
  const full = bench.schedule();
  assert.deepEqual(full.preemptedIds, ["early-low"]);
  assert.deepEqual(chunksOf(full), [["late-high", 8, 1]]);
  bench.update(full);
  bench.runToEnd();
  assert.deepEqual(bench.output("early-low").tokens, [7, 8, 9]);
  assert.deepEqual(bench.output("late-high").tokens, [107, 108, 109]);
  bench.assertDrained();
});

test("scheduler - a request preempts itself when every other running request is already in the step, then resumes on its cached blocks", () => {
  const bench = new StepBench({ numBlocks: 5, maxBatchTokens: 64 });
  bench.add("a", run(0, 7), { maxTokens: 4 });
  bench.add("b", run(100, 7), { maxTokens: 3 });
  bench.step();
  bench.step();
  // Both need a third block and one is free: a (first) takes it; b finds nothing it may preempt.
  const full = bench.schedule();
  assert.deepEqual(chunksOf(full), [["a", 8, 1]]);
  assert.deepEqual(full.preemptedIds, ["b"]);
  assert.deepEqual(bench.kv.blockTable("a"), [0, 1, 4]);
  assert.equal(bench.cachedFreeBlocks(), 2); // b's blocks 2 and 3, both full
  bench.update(full);

  // No admission in a step that preempted, and in the next one b's 9 tokens need a block more than is free.
  assert.deepEqual(chunksOf(bench.step()), [["a", 9, 1]]); // a's last token: it finishes
  assert.deepEqual(bench.scheduler.waitingIds(), ["b"]);
  // Now b resumes on its own two cached blocks and recomputes only the token that did not fill them.
  const back = bench.schedule();
  assert.deepEqual(chunksOf(back), [["b", 8, 1]]);
  assert.deepEqual(bench.kv.blockTable("b"), [2, 3, 4]);
  bench.update(back);
  assert.deepEqual(bench.output("b").tokens, [107, 108, 109]);
  assert.deepEqual(bench.output("a").tokens, [7, 8, 9, 10]);
  bench.assertDrained();
});

test("scheduler - preempts as many running requests as a prefill chunk needs, newest first", () => {
  const bench = new StepBench({ numBlocks: 4, maxBatchTokens: 8 });
  bench.add("s1", run(0, 3), { maxTokens: 5 });
  bench.add("s2", run(100, 3), { maxTokens: 5 });
  assert.deepEqual(chunksOf(bench.step()), [["s1", 0, 3], ["s2", 0, 3]]);
  bench.add("long", run(200, 16), { maxTokens: 1, priority: -1 });
  assert.deepEqual(chunksOf(bench.step()), [["s1", 3, 1], ["s2", 3, 1], ["long", 0, 6]]);
  assert.deepEqual([bench.kv.blockTable("s1"), bench.kv.blockTable("s2"), bench.kv.blockTable("long")], [[0], [1], [2, 3]]);

  // long ranks first and its next chunk of 8 needs two more blocks: one victim frees one, so both go.
  const full = bench.schedule();
  assert.deepEqual(full.preemptedIds, ["s2", "s1"]);
  assert.deepEqual(chunksOf(full), [["long", 6, 8]]);
  assert.deepEqual(bench.kv.blockTable("long"), [2, 3, 1, 0]);
  bench.update(full);
  // Not enough room for either while long runs; then both come back, on blocks long left cached (LRU first).
  assert.deepEqual(chunksOf(bench.step()), [["long", 14, 2]]);
  const back = bench.schedule();
  assert.deepEqual(chunksOf(back), [["s1", 0, 5], ["s2", 0, 3]]); // s2's chunk is what the budget of 8 leaves
  assert.deepEqual([bench.kv.blockTable("s1"), bench.kv.blockTable("s2")], [[0, 1], [3]]);
  bench.update(back);
  bench.runToEnd();
  assert.deepEqual([bench.output("s1").tokens, bench.output("s2").tokens, bench.output("long").tokens], [[3, 4, 5, 6, 7], [103, 104, 105, 106, 107], [216]]);
  assert.equal(bench.scheduler.stats().preemptionsTotal, 2);
  bench.assertDrained();
});

test("scheduler - a request that outgrows the whole cache alone finishes with an error and frees its blocks", () => {
  const bench = new StepBench({ numBlocks: 2, maxBatchTokens: 64 });
  bench.add("a", run(0, 7), { maxTokens: 10 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 7]]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 7, 1]]);
  const plan = bench.step();
  assert.deepEqual(chunksOf(plan), []);
  assert.deepEqual(plan.preemptedIds, []);
  assert.deepEqual(bench.output("a").tokens, [7, 8]);
  assert.equal(bench.output("a").finish?.reason, "error");
  assert.equal(bench.output("a").finish?.errorMessage, "the request needs more KV cache than this worker has (9 tokens)");
  bench.assertDrained();
});

test("scheduler - a prompt larger than the whole cache is refused at admission, and the queue moves on", () => {
  const bench = new StepBench({ numBlocks: 2, maxBatchTokens: 64 });
  bench.add("huge", run(0, 12), { maxTokens: 1 });
  bench.add("small", run(100, 3), { maxTokens: 1 });
  const plan = bench.step();
  assert.deepEqual(chunksOf(plan), []);
  assert.equal(bench.output("huge").finish?.reason, "error");
  assert.equal(bench.output("huge").finish?.errorMessage, "the request needs more KV cache than this worker has (12 tokens)");
  assert.deepEqual(bench.output("huge").tokens, []);
  assert.deepEqual(chunksOf(bench.step()), [["small", 0, 3]]);
  bench.assertDrained();
});

test("scheduler - a prompt larger than the cache but admitted in chunks fails when it outgrows it", () => {
  const bench = new StepBench({ numBlocks: 2, maxBatchTokens: 8 });
  bench.add("huge", run(0, 12), { maxTokens: 1 });
  assert.deepEqual(chunksOf(bench.step()), [["huge", 0, 8]]);
  assert.deepEqual(chunksOf(bench.step()), []);
  assert.equal(bench.output("huge").finish?.errorMessage, "the request needs more KV cache than this worker has (12 tokens)");
  bench.assertDrained();
});
