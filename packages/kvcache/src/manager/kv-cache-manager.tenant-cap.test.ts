/**
 * The tenant cap through the manager's door: the cache salt a request is
 * allocated with is the tenant its blocks count against.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvEventBody } from "../events/kv-event.js";
import type { KvModelShape } from "../kv-types.js";
import { KvCacheManager } from "./kv-cache-manager.js";

// One layer, n_k 1, n_v 4, head_dim 2, 4 tokens per block: K block 32 bytes, V block 128 bytes.
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 4, head_dim: 2 };

function manager(maxCachedFractionPerTenant?: number) {
  const events: KvEventBody[] = [];
  const m = new KvCacheManager({
    shape: SHAPE,
    blockSizeTokens: 4,
    modelId: "test-model",
    bytes: { k: { device: 8 * 32, host: 0 }, v: { device: 8 * 128, host: 0 } },
    onEvent: (e) => events.push(e),
    ...(maxCachedFractionPerTenant === undefined ? {} : { maxCachedFractionPerTenant }),
  });
  return { m, events };
}

/** Runs an 8-token prompt (two full blocks) to completion as tenant `salt`; returns its block ids. */
function runAndFree(m: KvCacheManager, id: string, first: number, salt: string): readonly number[] {
  const prompt = Array.from({ length: 8 }, (_, i) => first + i);
  const admission = m.allocate(id, { promptTokens: prompt, cacheSalt: salt });
  assert.ok(admission, `${id} admitted`);
  const blockIds = [...admission.blockIds];
  m.commitTokens(id, prompt);
  m.free(id);
  return blockIds;
}

/** The prompt of runAndFree(first) plus one token: a follow-up that may reuse both of its blocks (the last prompt token is always computed). */
const followUp = (first: number) => Array.from({ length: 9 }, (_, i) => first + i);

for (const [label, fraction, bSurvives] of [["on (0.5)", 0.5, true], ["off", undefined, false]] as const) {
  test(`kvcache manager tenant cap ${label} - tenant "a" filling the cache ${bSurvives ? "recycles its own blocks; tenant b's prefix survives" : "evicts tenant b's prefix first (plain LRU)"}`, () => {
    const { m } = manager(fraction);
    assert.deepEqual(runAndFree(m, "b1", 100, "tenant-b"), [0, 1]);
    assert.deepEqual([runAndFree(m, "a1", 200, "tenant-a"), runAndFree(m, "a2", 300, "tenant-a"), runAndFree(m, "a3", 400, "tenant-a")], [[2, 3], [4, 5], [6, 7]]);
    const a4 = runAndFree(m, "a4", 500, "tenant-a");
    const bPrefix = m.findCachedPrefix(followUp(100), "tenant-b").blockIds;
    const a1Prefix = m.findCachedPrefix(followUp(200), "tenant-a").blockIds;
    if (bSurvives) {
      assert.deepEqual(a4, [3, 2]);
      assert.deepEqual(bPrefix, [0, 1]);
      assert.deepEqual(a1Prefix, []);
      assert.equal(m.tenantCapEvictions, 2);
    } else {
      assert.deepEqual(a4, [1, 0]);
      assert.deepEqual(bPrefix, []);
      assert.deepEqual(a1Prefix, [2, 3]);
      assert.equal(m.tenantCapEvictions, 0);
    }
  });
}
