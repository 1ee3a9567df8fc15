/**
 * The scheduler's spec, part 4, as a property: random workloads (prompts that
 * share prefixes, priorities, cancellations, steps in between) in caches of
 * 3 to 12 blocks, with budgets of 1 to 20 tokens, preempt often; yet every
 * request that is not cancelled ends with exactly the fake model's tokens,
 * every step keeps the budget and the sequence limit, the cache always holds
 * each sampling request's own tokens (the bench reads them back through the
 * block table), and nothing is held at the end.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { test } from "node:test";
import { BLOCK_SIZE_TOKENS, StepBench, run } from "./testing/step-bench.js";

/** Three prefixes that the prompts start from, so cached prefixes are hit and shared. */
const PREFIXES = [run(0, 8), run(50, 5), run(120, 12)];

type Op =
  | { op: "add"; prefix: number; tail: number; length: number; maxTokens: number; priority: number }
  | { op: "cancel"; index: number }
  | { op: "step" };

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("add" as const), prefix: fc.nat(PREFIXES.length - 1), tail: fc.nat(255), length: fraction, maxTokens: fraction, priority: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), index: fc.nat(40) }) },
  { weight: 6, arbitrary: fc.constant({ op: "step" as const }) },
) as fc.Arbitrary<Op>;

const configArb = fc.record({ numBlocks: fc.integer({ min: 3, max: 12 }), maxBatchTokens: fc.integer({ min: 1, max: 20 }), maxNumSeqs: fc.integer({ min: 1, max: 6 }) });

test("scheduler - random workloads in a tight cache all end with their own tokens and leave no block held", () => {
  let preemptions = 0;
  fc.assert(
    fc.property(configArb, fc.array(opArb, { minLength: 10, maxLength: 150, size: "max" }), (config, ops) => {
      const bench = new StepBench(config);
      const expected = new Map<string, number[]>();
      const cancelled = new Set<string>();
      // Every request fits the cache alone: prompt and generated tokens at most numBlocks full blocks.
      const capacityTokens = config.numBlocks * BLOCK_SIZE_TOKENS;
      for (const op of ops) {
        if (op.op === "add") {
          const id = `r${expected.size}`;
          const length = 1 + Math.floor(op.length * (capacityTokens - 1));
          const prompt = [...PREFIXES[op.prefix]!, ...run(op.tail, capacityTokens)].slice(0, length);
          const maxTokens = 1 + Math.floor(op.maxTokens * (capacityTokens - length));
          bench.add(id, prompt, { maxTokens, priority: op.priority });
          expected.set(id, run(prompt[prompt.length - 1]! + 1, maxTokens));
        } else if (op.op === "cancel") {
          const id = `r${op.index}`;
          if (bench.scheduler.has(id)) cancelled.add(id);
          bench.scheduler.cancel(id);
        } else bench.step();
      }
      bench.runToEnd();
      for (const [id, tokens] of expected) {
        const output = bench.output(id);
        if (cancelled.has(id)) {
          assert.equal(output.finish?.reason, "cancelled", id);
          assert.deepEqual(output.tokens, tokens.slice(0, output.tokens.length), id);
        } else {
          assert.equal(output.finish?.reason, "length", `${id}: ${output.finish?.errorMessage}`);
          assert.deepEqual(output.tokens, tokens, id);
        }
      }
      bench.assertDrained();
      preemptions += bench.scheduler.stats().preemptionsTotal;
    }),
    { numRuns: 300 },
  );
  // The workloads are tight enough to exercise preemption, not only admission.
  assert.ok(preemptions > 0, `preemptions: ${preemptions}`);
});
