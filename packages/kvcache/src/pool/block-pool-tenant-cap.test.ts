/**
 * The tenant cap of the block pool: a tenant at or over its share of cached
 * blocks gives up its own LRU blocks first, so another tenant's prefix
 * survives; alone, a tenant keeps the whole cache; with the cap off the plain
 * LRU decides, as before.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvEventBody } from "../events/kv-event.js";
import type { KvModelShape } from "../kv-types.js";
import { BlockPool } from "./block-pool.js";
import { KvCacheConfigError } from "./errors.js";

// One layer, n_k 1, n_v 4, head_dim 2, 2 tokens per block: K block 16 bytes, V block 64 bytes.
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 4, head_dim: 2 };

/** 8 blocks on the device, no host: every eviction is a drop. */
function pool(maxCachedFractionPerTenant?: number) {
  const events: KvEventBody[] = [];
  const p = new BlockPool({
    shape: SHAPE,
    blockSizeTokens: 2,
    bytes: { k: { device: 8 * 16, host: 0 }, v: { device: 8 * 64, host: 0 } },
    onEvent: (e) => events.push(e),
    ...(maxCachedFractionPerTenant === undefined ? {} : { maxCachedFractionPerTenant }),
  });
  return { p, events };
}

/** Allocates one block, registers `hash` for `tenant`, releases it: one cached block. */
function cache(p: BlockPool, hash: bigint, tenant: string): number {
  const id = p.allocate();
  assert.notEqual(id, null);
  assert.ok(p.registerHash(id!, hash, null, tenant));
  p.release(id!);
  return id!;
}

const removed = (hash: bigint): KvEventBody[] => [
  { kind: "removed", component: "k", tier: "device", blockHashes: [hash] },
  { kind: "removed", component: "v", tier: "device", blockHashes: [hash] },
];

/** Tenant B caches 0xb0, 0xb1 (blocks 0, 1); tenant A then fills the rest with 0xa0..0xa5 (blocks 2..7). */
function fill(p: BlockPool): void {
  assert.deepEqual([cache(p, 0xb0n, "b"), cache(p, 0xb1n, "b")], [0, 1]);
  for (let i = 0; i < 6; i++) assert.equal(cache(p, 0xa0n + BigInt(i), "a"), 2 + i);
}

test("kvcache tenant cap - tenant A filling the cache evicts its own oldest blocks while tenant B's prefix survives", () => {
  const { p, events } = pool(0.5);
  assert.equal(p.maxCachedBlocksPerTenant, 4);
  fill(p);
  // Over its cap while there was room: nothing was thrown away for it.
  assert.deepEqual([p.cachedBlocksOf("a"), p.cachedBlocksOf("b")], [6, 2]);
  events.length = 0;

  // Room is needed: A is at its cap, so its LRU block (2, 0xa0) goes, not B's block 0.
  assert.equal(cache(p, 0xa6n, "a"), 2);
  assert.equal(cache(p, 0xa7n, "a"), 3);
  assert.deepEqual(events.filter((e) => e.kind === "removed"), [...removed(0xa0n), ...removed(0xa1n)]);
  assert.deepEqual([p.lookup(0xb0n), p.lookup(0xb1n), p.lookup(0xa0n), p.lookup(0xa1n)], [0, 1, undefined, undefined]);
  assert.deepEqual(p.cachedFreeBlocks(), [0, 1, 4, 5, 6, 7, 2, 3]);
  assert.deepEqual([p.cachedBlocksOf("a"), p.cachedBlocksOf("b")], [6, 2]);
  assert.equal(p.tenantCapEvictions, 2);
  assert.deepEqual(p.checkInvariants(), []);
});

test("kvcache tenant cap - with the cap off the plain LRU decides: B's prefix is the first to go", () => {
  const { p, events } = pool();
  assert.equal(p.maxCachedBlocksPerTenant, Infinity);
  fill(p);
  events.length = 0;
  assert.equal(cache(p, 0xa6n, "a"), 0);
  assert.deepEqual(events.filter((e) => e.kind === "removed"), removed(0xb0n));
  assert.equal(p.lookup(0xb0n), undefined);
  assert.equal(p.tenantCapEvictions, 0);
  assert.deepEqual(p.checkInvariants(), []);
});

test("kvcache tenant cap - a tenant alone keeps the whole cache and evicts in plain LRU order", () => {
  const { p, events } = pool(0.5);
  for (let i = 0; i < 8; i++) assert.equal(cache(p, 0xc0n + BigInt(i), ""), i);
  assert.equal(p.cachedBlocksOf(""), 8);
  events.length = 0;
  assert.equal(cache(p, 0xc8n, ""), 0);
  assert.deepEqual(events.filter((e) => e.kind === "removed"), removed(0xc0n));
  // Its LRU block was the plain LRU anyway: not counted as a cap eviction.
  assert.equal(p.tenantCapEvictions, 0);
});

test("kvcache tenant cap - a reused block leaves its tenant's count; a fraction outside (0, 1] is a config error naming the field", () => {
  const { p } = pool(0.25);
  const id = cache(p, 0xd0n, "b");
  assert.equal(p.cachedBlocksOf("b"), 1);
  p.touch(id);
  assert.equal(p.cachedBlocksOf("b"), 0);
  p.release(id);
  assert.equal(p.cachedBlocksOf("b"), 1);
  assert.deepEqual(p.checkInvariants(), []);
  for (const bad of [0, -0.5, 1.5, Number.NaN]) {
    assert.throws(() => pool(bad), (err: unknown) => err instanceof KvCacheConfigError && /maxCachedFractionPerTenant/.test(err.message), String(bad));
  }
});
