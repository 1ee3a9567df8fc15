/**
 * The scheduler's spec, part 1: who is admitted, in what order, on which
 * blocks, and how a step's token budget is cut into prefill chunks and
 * decodes. Each test drives the policy step by step against a real KV-cache
 * manager (blocks of 4 tokens) and a fake model whose next token is the last
 * token plus one, and asserts exact plans, block ids and outputs. Every test
 * ends with nothing held.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepBench, chunksOf, run, samplersOf } from "./testing/step-bench.js";

test("scheduler - admits waiting requests first come, first served, each on blocks of its own", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(10, 6), { maxTokens: 3 });
  bench.add("b", run(20, 5), { maxTokens: 3 });
  bench.add("c", run(30, 3), { maxTokens: 3 });
  assert.deepEqual(bench.scheduler.waitingIds(), ["a", "b", "c"]);

  const first = bench.step();
  assert.deepEqual(chunksOf(first), [["a", 0, 6], ["b", 0, 5], ["c", 0, 3]]);
  assert.deepEqual(samplersOf(first), ["a", "b", "c"]);
  assert.deepEqual(first.preemptedIds, []);
  assert.deepEqual([bench.kv.blockTable("a"), bench.kv.blockTable("b"), bench.kv.blockTable("c")], [[0, 1], [2, 3], [4]]);

  // Decodes: one token each, at the position after what is computed.
  assert.deepEqual(chunksOf(bench.step()), [["a", 6, 1], ["b", 5, 1], ["c", 3, 1]]);
  const last = bench.schedule();
  assert.deepEqual(chunksOf(last), [["a", 7, 1], ["b", 6, 1], ["c", 4, 1]]);
  // c's fifth token opened a block of its own; a and b still fit in two.
  assert.deepEqual([bench.kv.blockTable("a"), bench.kv.blockTable("b"), bench.kv.blockTable("c")], [[0, 1], [2, 3], [4, 5]]);
  bench.update(last);

  assert.deepEqual(bench.output("a").tokens, [16, 17, 18]);
  assert.deepEqual(bench.output("b").tokens, [25, 26, 27]);
  assert.deepEqual(bench.output("c").tokens, [33, 34, 35]);
  for (const id of ["a", "b", "c"]) assert.equal(bench.output(id).finish?.reason, "length");
  bench.assertDrained();
  // What stays cached is exactly the full blocks: a's 0 and 1 (8 computed tokens), b's 2 (7), c's 4 (5).
  assert.equal(bench.cachedFreeBlocks(), 4);
});

test("scheduler - admits a higher-priority request ahead of those that came before it; equal priorities go by arrival", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64, maxNumSeqs: 1 });
  bench.add("first", run(0, 3), { maxTokens: 1 });
  assert.deepEqual(chunksOf(bench.step()), [["first", 0, 3]]);
  bench.add("low", run(10, 3), { maxTokens: 1, priority: 10 });
  bench.add("high", run(20, 3), { maxTokens: 1, priority: -5 });
  bench.add("high-too", run(30, 3), { maxTokens: 1, priority: -5 });
  assert.deepEqual(bench.scheduler.waitingIds(), ["high", "high-too", "low"]);

  const admitted = [];
  while (bench.scheduler.size > 0) admitted.push(...bench.step().sequences.map((s) => s.requestId));
  assert.deepEqual(admitted, ["high", "high-too", "low"]);
  bench.assertDrained();
});

test("scheduler - a running request of higher priority takes the step's token budget first", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 8 });
  bench.add("low", run(0, 12), { maxTokens: 2, priority: 5 });
  assert.deepEqual(chunksOf(bench.step()), [["low", 0, 8]]);
  bench.add("high", run(100, 12), { maxTokens: 2, priority: 0 });
  // Running requests go first, then admissions get what is left.
  assert.deepEqual(chunksOf(bench.step()), [["low", 8, 4], ["high", 0, 4]]);
  // Now both run, and high ranks first: its chunk takes the whole budget and low's decode waits.
  assert.deepEqual(chunksOf(bench.step()), [["high", 4, 8]]);
  assert.deepEqual(chunksOf(bench.step()), [["high", 12, 1], ["low", 12, 1]]);
  assert.deepEqual(bench.output("high").tokens, [112, 113]);
  assert.deepEqual(bench.output("low").tokens, [12, 13]);
  bench.assertDrained();
});

test("scheduler - admits no more than maxNumSeqs running requests", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64, maxNumSeqs: 2 });
  for (const id of ["a", "b", "c"]) bench.add(id, run(0, 4), { maxTokens: 2, cacheSalt: id });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 4], ["b", 0, 4]]);
  assert.deepEqual(bench.scheduler.waitingIds(), ["c"]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 4, 1], ["b", 4, 1]]);
  // a and b finished in that step; c starts in the next.
  assert.deepEqual(chunksOf(bench.step()), [["c", 0, 4]]);
  bench.runToEnd();
  bench.assertDrained();
});

test("scheduler - a waiting request that does not fit holds back the smaller ones behind it", () => {
  const bench = new StepBench({ numBlocks: 4, maxBatchTokens: 64 });
  bench.add("a", run(0, 9), { maxTokens: 3 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 9]]);
  assert.deepEqual(bench.kv.blockTable("a"), [0, 1, 2]);
  bench.add("b", run(100, 8), { maxTokens: 1 }); // needs 2 blocks; 1 is free
  bench.add("c", run(200, 3), { maxTokens: 1 }); // would fit in that 1
  assert.deepEqual(chunksOf(bench.step()), [["a", 9, 1]]);
  assert.deepEqual(bench.scheduler.waitingIds(), ["b", "c"]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 10, 1]]); // a's last token; it finishes here
  // a freed its partial block 2 and left 0 and 1 cached; b takes the free ones (2 was freed last, so it comes
  // first), and c evicts the least recently used cached block, 1 (a's tail goes before its head).
  const plan = bench.schedule();
  assert.deepEqual(chunksOf(plan), [["b", 0, 8], ["c", 0, 3]]);
  assert.deepEqual([bench.kv.blockTable("b"), bench.kv.blockTable("c")], [[2, 3], [1]]);
  bench.update(plan);
  bench.assertDrained();
});

test("scheduler - a prompt that shares a computed prefix starts after it, on the same blocks", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(0, 10), { maxTokens: 2 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 10]]);
  bench.add("b", [...run(0, 8), 50, 51, 52], { maxTokens: 1 });
  const plan = bench.schedule();
  // b's first two blocks are a's (8 tokens); it computes only its last 3, in a block of its own.
  assert.deepEqual(chunksOf(plan), [["a", 10, 1], ["b", 8, 3]]);
  assert.deepEqual(bench.kv.blockTable("a"), [0, 1, 2]);
  assert.deepEqual(bench.kv.blockTable("b"), [0, 1, 3]);
  assert.equal(bench.usedBlocks(), 4);
  bench.update(plan);
  assert.deepEqual(bench.output("b").tokens, [53]);
  assert.equal(bench.output("b").finish?.usage.cachedPromptTokens, 8);
  assert.equal(bench.output("a").finish?.usage.cachedPromptTokens, 0);
  bench.assertDrained();
});

test("scheduler - the same prompt twice in one step shares nothing, and only the first copy stays cached", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(0, 8), { maxTokens: 1 });
  bench.add("b", run(0, 8), { maxTokens: 1 });
  const plan = bench.schedule();
  // A prefix is shared once computed: in the same step both compute it.
  assert.deepEqual(chunksOf(plan), [["a", 0, 8], ["b", 0, 8]]);
  assert.deepEqual([bench.kv.blockTable("a"), bench.kv.blockTable("b")], [[0, 1], [2, 3]]);
  bench.update(plan);
  assert.equal(bench.cachedFreeBlocks(), 2);
  // A third copy finds a's blocks. The last prompt token is always computed (it gives the logits),
  // so a prompt of exactly two blocks reuses one and recomputes the second, into the block b freed last.
  bench.add("c", run(0, 8), { maxTokens: 1 });
  const again = bench.schedule();
  assert.deepEqual(chunksOf(again), [["c", 4, 4]]);
  assert.deepEqual(bench.kv.blockTable("c"), [0, 2]);
  bench.update(again);
  assert.equal(bench.output("c").finish?.usage.cachedPromptTokens, 4);
  assert.deepEqual(bench.output("c").tokens, [8]);
  bench.assertDrained();
});

test("scheduler - a different cache salt never hits another tenant's prefix", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 64 });
  bench.add("a", run(0, 10), { maxTokens: 1, cacheSalt: "tenant-a" });
  bench.step();
  bench.add("b", run(0, 10), { maxTokens: 1, cacheSalt: "tenant-b" });
  bench.add("a-again", run(0, 10), { maxTokens: 1, cacheSalt: "tenant-a" });
  assert.deepEqual(chunksOf(bench.step()), [["b", 0, 10], ["a-again", 8, 2]]);
  bench.assertDrained();
});

test("scheduler - splits a long prompt into chunks of the step's token budget and samples only after the last", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 8 });
  bench.add("a", run(0, 21), { maxTokens: 2 });
  const steps: [string, number, number][][] = [];
  const tables: number[][] = [];
  const samplers: string[][] = [];
  for (let i = 0; i < 3; i++) {
    const plan = bench.schedule();
    steps.push(chunksOf(plan));
    tables.push([...bench.kv.blockTable("a")]);
    samplers.push(samplersOf(plan));
    bench.update(plan);
  }
  assert.deepEqual(steps, [[["a", 0, 8]], [["a", 8, 8]], [["a", 16, 5]]]);
  // Each chunk reserves only the blocks it writes.
  assert.deepEqual(tables, [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4, 5]]);
  assert.deepEqual(samplers, [[], [], ["a"]]);
  assert.deepEqual(bench.output("a").tokens, [21]);
  assert.deepEqual(chunksOf(bench.step()), [["a", 21, 1]]);
  assert.deepEqual(bench.output("a").tokens, [21, 22]);
  bench.assertDrained();
});

test("scheduler - the token budget goes to decodes first, the rest to prefill chunks, and an admission takes what is left", () => {
  const bench = new StepBench({ numBlocks: 16, maxBatchTokens: 8 });
  bench.add("a", run(0, 4), { maxTokens: 4 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 0, 4]]);
  bench.add("b", run(100, 20), { maxTokens: 1 });
  bench.add("c", run(200, 6), { maxTokens: 1 });
  assert.deepEqual(chunksOf(bench.step()), [["a", 4, 1], ["b", 0, 7]]);
  assert.deepEqual(bench.scheduler.waitingIds(), ["c"]); // no budget left for it
  assert.deepEqual(chunksOf(bench.step()), [["a", 5, 1], ["b", 7, 7]]);
  // b's last chunk is 6 tokens, so c gets a chunk of 1 (and a block for it).
  const plan = bench.schedule();
  assert.deepEqual(chunksOf(plan), [["a", 6, 1], ["b", 14, 6], ["c", 0, 1]]);
  assert.deepEqual([bench.kv.blockTable("a"), bench.kv.blockTable("b"), bench.kv.blockTable("c")], [[0, 1], [2, 3, 4, 5, 6], [7]]);
  bench.update(plan);
  assert.deepEqual(chunksOf(bench.step()), [["c", 1, 5]]);
  assert.deepEqual([bench.output("a").tokens, bench.output("b").tokens, bench.output("c").tokens], [[4, 5, 6, 7], [120], [206]]);
  bench.assertDrained();
});
