/**
 * The engine loop around the scheduling policy: it runs plans on the model
 * runner back to back while there is work, lets cancellations in between
 * steps, survives a failed step, and drains. The runner is a fake whose steps
 * end when the test says so, so events are ordered by the loop's progress.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestFinish, RequestSink } from "./engine-request.js";
import { Scheduler } from "./scheduler.js";
import { GatedRunner } from "./testing/gated-runner.js";
import { BENCH_EOS_TOKEN_IDS, BENCH_TOKENIZER, benchKvCache, benchSubmit, run } from "./testing/step-bench.js";

function loop(options: { numBlocks?: number; maxBatchTokens?: number; onStepError?: (err: unknown) => void } = {}) {
  const kv = benchKvCache(options.numBlocks ?? 16);
  const runner = new GatedRunner();
  const scheduler = new Scheduler({
    kv,
    runner,
    tokenizer: BENCH_TOKENIZER,
    eosTokenIds: BENCH_EOS_TOKEN_IDS,
    maxBatchTokens: options.maxBatchTokens ?? 64,
    maxNumSeqs: 8,
    ...(options.onStepError === undefined ? {} : { onStepError: options.onStepError }),
  });
  const usedBlocks = () => kv.usage().reduce((sum, u) => sum + u.usedBlocks, 0);
  return { kv, runner, scheduler, usedBlocks };
}

/** A sink that collects tokens and resolves `finished` with the finish record. */
function collector(): RequestSink & { tokens: number[]; finished: Promise<RequestFinish> } {
  let resolve!: (finish: RequestFinish) => void;
  const finished = new Promise<RequestFinish>((r) => (resolve = r));
  const tokens: number[] = [];
  return { tokens, finished, onChunk: (chunk) => tokens.push(...chunk.tokenIds), onFinish: (finish) => resolve(finish) };
}

test("scheduler loop - runs steps back to back until every request is done, then stops", async () => {
  const { runner, scheduler, usedBlocks } = loop();
  runner.autoComplete = true;
  const a = collector();
  const b = collector();
  scheduler.submit(benchSubmit("a", run(0, 5), { maxTokens: 3 }), a);
  scheduler.submit(benchSubmit("b", run(100, 2), { maxTokens: 2 }), b);
  const [aFinish, bFinish] = await Promise.all([a.finished, b.finished]);
  assert.deepEqual([aFinish.reason, a.tokens, bFinish.reason, b.tokens], ["length", [5, 6, 7], "length", [102, 103]]);
  // A submit to an idle loop plans a step at once, so a's first step is its own; b joins the next.
  assert.deepEqual(runner.steps, [
    [["a", 0, 5]],
    [["a", 5, 1], ["b", 0, 2]],
    [["a", 6, 1], ["b", 2, 1]],
  ]);
  assert.deepEqual(scheduler.stats(), { running: 0, waiting: 0, preemptionsTotal: 0, stepsTotal: 3, tokensComputedTotal: 10, prefillTokensPerS: 0 }); // no step computed 32 prompt tokens: no speed sample
  assert.equal(usedBlocks(), 0);
});

test("scheduler loop - a request submitted during a step joins the next one", async () => {
  const { runner, scheduler } = loop();
  const a = collector();
  const b = collector();
  scheduler.submit(benchSubmit("a", run(0, 4), { maxTokens: 2 }), a);
  await runner.started(1);
  scheduler.submit(benchSubmit("b", run(100, 4), { maxTokens: 1 }), b);
  runner.complete();
  await runner.started(2);
  assert.deepEqual(runner.steps, [[["a", 0, 4]], [["a", 4, 1], ["b", 0, 4]]]);
  runner.complete();
  assert.deepEqual([(await a.finished).reason, (await b.finished).reason], ["length", "length"]);
});

test("scheduler loop - a request cancelled during a step keeps its blocks until the step ends, then frees them", async () => {
  const { kv, runner, scheduler, usedBlocks } = loop();
  const a = collector();
  scheduler.submit(benchSubmit("a", run(0, 6), { maxTokens: 10 }), a);
  await runner.started(1);
  scheduler.cancel("a");
  assert.deepEqual(kv.blockTable("a"), [0, 1]); // the model may be writing into them
  runner.complete();
  const finish = await a.finished;
  assert.equal(finish.reason, "cancelled");
  assert.deepEqual(a.tokens, []);
  assert.equal(usedBlocks(), 0);
  assert.equal(scheduler.has("a"), false);
  assert.equal(runner.steps.length, 1);
});

test("scheduler loop - a failed step finishes its requests with an error and frees their blocks, and the loop goes on", async () => {
  const errors: unknown[] = [];
  const { runner, scheduler, usedBlocks } = loop({ onStepError: (err) => errors.push(err) });
  const a = collector();
  scheduler.submit(benchSubmit("a", run(0, 6), { maxTokens: 10 }), a);
  await runner.started(1);
  const boom = new Error("boom");
  runner.fail(boom);
  const finish = await a.finished;
  assert.equal(finish.reason, "error");
  assert.equal(finish.errorMessage, "engine step failed: boom");
  assert.deepEqual(errors, [boom]);
  assert.equal(usedBlocks(), 0);

  runner.autoComplete = true;
  const b = collector();
  scheduler.submit(benchSubmit("b", run(100, 3), { maxTokens: 1 }), b);
  assert.equal((await b.finished).reason, "length");
  assert.deepEqual(b.tokens, [103]);
});

test("scheduler loop - a drain refuses new requests and resolves when the admitted ones have finished", async () => {
  const { runner, scheduler, usedBlocks } = loop({ maxBatchTokens: 4 });
  const a = collector();
  const b = collector();
  scheduler.submit(benchSubmit("a", run(0, 4), { maxTokens: 2 }), a);
  scheduler.submit(benchSubmit("b", run(100, 4), { maxTokens: 1 }), b); // waiting: a took the budget
  await runner.started(1);
  let drained = false;
  const drain = scheduler.drain().then(() => (drained = true));
  assert.equal(scheduler.isDraining, true);
  assert.throws(() => scheduler.submit(benchSubmit("late", run(0, 2)), collector()), /draining/);
  runner.complete();
  await runner.started(2);
  // Still draining: a decodes, and b, accepted before the drain, is admitted with the budget left.
  assert.deepEqual(runner.steps[1], [["a", 4, 1], ["b", 0, 3]]);
  assert.equal(drained, false);
  runner.complete();
  await runner.started(3);
  assert.deepEqual(runner.steps[2], [["b", 3, 1]]);
  assert.equal(drained, false);
  runner.complete();
  await drain;
  assert.deepEqual([(await a.finished).reason, (await b.finished).reason], ["length", "length"]);
  assert.equal(usedBlocks(), 0);
});

test("scheduler loop - drain resolves at once when nothing is admitted", async () => {
  const { scheduler } = loop();
  await scheduler.drain();
  assert.equal(scheduler.isDraining, true);
});
