/**
 * Property test: thousands of random allocate / append / free / demote /
 * promote operations, with the pool's invariants checked after every one.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvComponent, KvModelShape } from "../kv-types.js";
import { KvCacheManager, type KvCacheMode } from "./kv-cache-manager.js";
import { poolOf } from "./testing/pool-of.js";

const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 2, head_dim: 1 };
const BLOCK = 2;
const K_BYTES = 1 * 1 * BLOCK * 1 * 4;
const V_BYTES = 1 * 2 * BLOCK * 1 * 4;

type Op =
  | { op: "allocate"; request: number; prompt: number[]; salt: string }
  | { op: "append"; request: number; tokens: number[] }
  | { op: "free"; request: number }
  | { op: "demote" | "promote"; block: number; component: KvComponent };

const request = fc.integer({ min: 0, max: 5 });
const token = fc.integer({ min: 1, max: 3 }); // a tiny alphabet, so prefixes collide often
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("allocate" as const), request, prompt: fc.array(token, { minLength: 1, maxLength: 12 }), salt: fc.constantFrom("", "tenant") }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("append" as const), request, tokens: fc.array(token, { minLength: 1, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("free" as const), request }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("demote" as const, "promote" as const), block: fc.integer({ min: 0, max: 40 }), component: fc.constantFrom<KvComponent>("k", "v") }) },
);

function checkAfterEach(m: KvCacheManager, live: Set<string>, step: string): void {
  assert.deepEqual(poolOf(m).checkInvariants(), [], step);
  let references = 0;
  for (const id of live) references += m.blockTable(id).length;
  let refCounts = 0;
  for (let b = 0; b < poolOf(m).numBlocks; b++) refCounts += poolOf(m).refCount(b);
  assert.equal(refCounts, references, `${step}: refCounts sum to the block-table entries`);
}

for (const mode of ["full", "selective-v"] as KvCacheMode[]) {
  test(`kvcache manager - random operations keep every invariant (${mode})`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.record({ kDevice: fc.integer({ min: 2, max: 8 }), vDevice: fc.integer({ min: 2, max: 8 }), kHost: fc.integer({ min: 0, max: 8 }), vHost: fc.integer({ min: 0, max: 8 }) }), (ops, sizes) => {
        const m = new KvCacheManager({
          shape: SHAPE,
          blockSizeTokens: BLOCK,
          modelId: "m",
          mode,
          recentWindowBlocks: 1,
          bytes: { k: { device: sizes.kDevice * K_BYTES, host: sizes.kHost * K_BYTES }, v: { device: sizes.vDevice * V_BYTES, host: sizes.vHost * V_BYTES } },
        });
        const live = new Set<string>();
        ops.forEach((op, index) => {
          const step = `step ${index} ${JSON.stringify(op)}`;
          switch (op.op) {
            case "allocate": {
              const id = `r${op.request}`;
              if (live.has(id)) break;
              const admission = m.allocate(id, { promptTokens: op.prompt, cacheSalt: op.salt });
              if (admission === null) {
                assert.equal(m.has(id), false, `${step}: a refused request holds nothing`);
                break;
              }
              live.add(id);
              assert.ok(admission.numCachedTokens < op.prompt.length);
              m.commitTokens(id, op.prompt.slice(admission.numCachedTokens));
              break;
            }
            case "append": {
              const id = `r${op.request}`;
              if (!live.has(id)) break;
              const before = [...m.blockTable(id)];
              const table = m.appendSlots(id, op.tokens.length);
              if (table === null) assert.deepEqual([...m.blockTable(id)], before, `${step}: a refused append changes nothing`);
              else m.commitTokens(id, op.tokens);
              break;
            }
            case "free":
              m.free(`r${op.request}`);
              live.delete(`r${op.request}`);
              break;
            case "demote":
            case "promote":
              if (op.block < poolOf(m).numBlocks && poolOf(m).residency(op.block, op.component) !== null) poolOf(m)[op.op](op.block, op.component);
              break;
          }
          checkAfterEach(m, live, step);
        });
        for (const id of live) m.free(id);
        assert.deepEqual(poolOf(m).checkInvariants(), []);
        assert.ok(m.usage().every((u) => u.usedBlocks === 0), "after every free, only cached blocks remain");
        for (let b = 0; b < poolOf(m).numBlocks; b++) {
          const resident = poolOf(m).residency(b, "k") !== null;
          assert.equal(resident, poolOf(m).hashOf(b) !== null, `block ${b}: resident iff cached`);
        }
      }),
      { numRuns: 300 },
    );
  });
}
