/**
 * The attention view: what the model runner reads K and V through. The oracle
 * is what was written with writeTokenKv, found again by walking the view's
 * arenas with its slots and the documented layout.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvModelShape } from "../kv-types.js";
import { KvCacheConfigError, KvCacheInvariantError } from "../pool/errors.js";
import { HostArenaStorage, type TierStorage } from "../pool/tier-storage.js";
import type { KvBlockSlots } from "./kv-attention-view.js";
import { KvCacheManager } from "./kv-cache-manager.js";
import { poolOf } from "./testing/pool-of.js";

// One layer, n_k 1, n_v 4, head_dim 2, 4 tokens per block: K block 32 bytes (8 floats), V block 128 bytes (32 floats).
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 4, head_dim: 2 };
const BLOCK = 4;
const K = 32;
const V = 128;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const value = (position: number, head: number, i: number) => position * 100 + head * 10 + i;
const slots = (n: number): KvBlockSlots => ({ kSlot: new Int32Array(n), vSlot: new Int32Array(n), vTier: new Uint8Array(n) });

/** Selective V, 2 V blocks on the device: after 16 tokens the two oldest blocks have V on the host. */
function selectiveWithHostV() {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", mode: "selective-v", recentWindowBlocks: 1, bytes: { k: { device: 8 * K, host: 0 }, v: { device: 2 * V, host: 8 * V } } });
  const view = m.attentionView(); // taken before any write: the arenas are the pool's memory, not a copy
  const write = (from: number, to: number) => {
    for (let p = from; p < to; p++) m.writeTokenKv("r", p, 0, Float32Array.of(p, -p), Float32Array.from({ length: 8 }, (_, j) => value(p, Math.floor(j / 2), j % 2)));
  };
  assert.ok(m.allocate("r", { promptTokens: range(0, 16), numNewTokens: 8 }));
  write(0, 8);
  m.commitTokens("r", range(0, 8));
  assert.ok(m.appendSlots("r", 8));
  write(8, 16);
  m.commitTokens("r", range(8, 16));
  return { m, view };
}

test("kvcache attention view - block slots say where each block's K and V are, V on either tier", () => {
  const { m, view } = selectiveWithHostV();
  const into = slots(6);
  assert.equal(view.fillBlockSlots("r", into, 1), 4);
  assert.deepEqual(Array.from(into.kSlot), [0, 0, 1, 2, 3, 0]);
  assert.deepEqual(Array.from(into.vSlot), [0, 0, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(into.vTier), [0, 1, 1, 0, 0, 0]);
  assert.deepEqual(view.slotFloats, { k: 8, v: 32 });
  assert.equal(view.blockSizeTokens, BLOCK);
  assert.equal(m.attentionView(), view, "one view per manager");
});

test("kvcache attention view - walking the arenas with the slots finds every row written, on device and host", () => {
  const { view } = selectiveWithHostV();
  const into = slots(4);
  view.fillBlockSlots("r", into, 0);
  const d = SHAPE.head_dim;
  for (let p = 0; p < 16; p++) {
    const entry = Math.floor(p / BLOCK);
    const offset = p % BLOCK;
    const kAt = into.kSlot[entry]! * view.slotFloats.k + offset * d; // one layer, one K head
    assert.deepEqual(Array.from(view.kDevice.subarray(kAt, kAt + d)), [p, -p], `K at ${p}`);
    const vArena = into.vTier[entry] === 0 ? view.vDevice : view.vHost;
    for (let head = 0; head < SHAPE.num_value_heads; head++) {
      const vAt = into.vSlot[entry]! * view.slotFloats.v + (head * BLOCK + offset) * d;
      assert.deepEqual(Array.from(vArena.subarray(vAt, vAt + d)), [value(p, head, 0), value(p, head, 1)], `V head ${head} at ${p}`);
    }
  }
  assert.equal(view.kDevice.length, 8 * 8);
  assert.equal(view.vDevice.length, 2 * 32);
  assert.equal(view.vHost.length, 8 * 32);
});

test("kvcache attention view - a block with K off the device is a broken invariant, not a silent read", () => {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes: { k: { device: 4 * K, host: 4 * K }, v: { device: 4 * V, host: 4 * V } } });
  assert.deepEqual(m.allocate("r", { promptTokens: range(0, 8) })!.blockIds, [0, 1]);
  assert.ok(poolOf(m).demote(1, "k")); // only a test can do this: the manager never demotes a used block's K
  assert.throws(() => m.attentionView().fillBlockSlots("r", slots(2), 0), (e: unknown) => e instanceof KvCacheInvariantError && /block 1 has K on host; K must be on the device/.test(e.message));
  assert.throws(() => m.attentionView().fillBlockSlots("r", slots(2), 1), KvCacheInvariantError, "two entries from 1 do not fit two slots");
  assert.throws(() => m.attentionView().fillBlockSlots("nobody", slots(2), 0), /unknown request nobody/);
});

test("kvcache attention view - no host tier for V gives an empty host arena", () => {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes: { k: { device: 2 * K, host: 0 }, v: { device: 2 * V, host: 0 } } });
  assert.equal(m.attentionView().vHost.length, 0);
});

test("kvcache attention view - storage that exposes no arena cannot back a view, and says which", () => {
  const opaque = (component: "k" | "v", tier: "device" | "host", numSlots: number, slotFloats: number): TierStorage => {
    const inner = new HostArenaStorage(component, tier, numSlots, slotFloats);
    return { component, tier, numSlots, slotFloats, read: inner.read.bind(inner), write: inner.write.bind(inner), copySlotTo: inner.copySlotTo.bind(inner) };
  };
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", createStorage: opaque, bytes: { k: { device: 2 * K, host: 0 }, v: { device: 2 * V, host: 0 } } });
  assert.ok(m.allocate("r", { promptTokens: range(0, 4) }), "the manager works without arenas");
  assert.throws(() => m.attentionView(), (e: unknown) => e instanceof KvCacheConfigError && /createStorage\(k, device\)/.test(e.message));
});
