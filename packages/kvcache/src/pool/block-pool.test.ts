import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvEventBody } from "../events/kv-event.js";
import type { KvModelShape } from "../kv-types.js";
import { BlockPool, type PoolBytes } from "./block-pool.js";

// One layer, n_k 1, n_v 4, head_dim 2, 2 tokens per block:
// a K block is 1·1·2·2 = 4 floats = 16 bytes, a V block 1·4·2·2 = 16 floats = 64 bytes.
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 4, head_dim: 2 };
const K = 16;
const V = 64;

function pool(blocks: { kDevice: number; vDevice: number; kHost?: number; vHost?: number }) {
  const events: KvEventBody[] = [];
  const bytes: PoolBytes = {
    k: { device: blocks.kDevice * K, host: (blocks.kHost ?? 0) * K },
    v: { device: blocks.vDevice * V, host: (blocks.vHost ?? 0) * V },
  };
  const p = new BlockPool({ shape: SHAPE, blockSizeTokens: 2, bytes, onEvent: (e) => events.push(e) });
  return { p, events };
}

const where = (p: BlockPool, id: number) => `${p.residency(id, "k")?.tier ?? "-"}/${p.residency(id, "v")?.tier ?? "-"}`;

test("kvcache pool - V is demoted to host before K under device pressure", () => {
  const { p, events } = pool({ kDevice: 8, vDevice: 2, kHost: 8, vHost: 8 });
  assert.equal(p.allocate(), 0);
  assert.equal(p.allocate(), 1);
  p.registerHash(0, 0xa0n, null);
  p.registerHash(1, 0xa1n, 0xa0n);
  p.release(0);
  p.release(1);
  assert.deepEqual(p.cachedFreeBlocks(), [0, 1]);
  events.length = 0;

  // The device V pool is full: the LRU cached block (0) gives up its V; its K stays.
  assert.equal(p.allocate(), 2);
  assert.deepEqual([where(p, 0), where(p, 1), where(p, 2)], ["device/host", "device/device", "device/device"]);
  assert.deepEqual(events, [{ kind: "moved", component: "v", fromTier: "device", toTier: "host", blockHashes: [0xa0n] }]);

  // Next: block 1 (the next LRU with V on the device).
  assert.equal(p.allocate(), 3);
  assert.deepEqual([where(p, 0), where(p, 1)], ["device/host", "device/host"]);
  // No cached V left on the device and both used blocks keep theirs: no room.
  assert.equal(p.allocate(), null);
  assert.equal(p.bytesMoved.v.demoted, 2 * V);
  assert.equal(p.bytesMoved.k.demoted, 0);
  assert.deepEqual(p.checkInvariants(), []);
});

test("kvcache pool - demoting K for K pressure takes the block's V off the device first", () => {
  const { p, events } = pool({ kDevice: 2, vDevice: 8, kHost: 8, vHost: 8 });
  p.allocate();
  p.allocate();
  p.registerHash(0, 0xb0n, null);
  p.release(0);
  events.length = 0;
  assert.equal(p.allocate(), 2);
  assert.equal(where(p, 0), "host/host");
  assert.deepEqual(
    events.map((e) => e.kind === "moved" && `${e.component} ${e.fromTier}->${e.toTier}`),
    ["v device->host", "k device->host"],
  );
});

test("kvcache pool - with no host room a cached block is dropped, and reported removed", () => {
  const { p, events } = pool({ kDevice: 2, vDevice: 2 });
  p.allocate();
  p.allocate();
  p.registerHash(1, 0xc1n, null);
  p.release(1);
  events.length = 0;
  assert.equal(p.allocate(), 1);
  assert.equal(p.lookup(0xc1n), undefined);
  assert.deepEqual(events, [
    { kind: "removed", component: "k", tier: "device", blockHashes: [0xc1n] },
    { kind: "removed", component: "v", tier: "device", blockHashes: [0xc1n] },
  ]);
});

test("kvcache pool - allocation returns null when full and succeeds after a free", () => {
  const { p } = pool({ kDevice: 2, vDevice: 2 });
  assert.equal(p.allocate(), 0);
  assert.equal(p.allocate(), 1);
  assert.equal(p.allocate(), null);
  assert.deepEqual(p.usage(), [
    { component: "k", tier: "device", usedBlocks: 2, cachedFreeBlocks: 0, totalBlocks: 2 },
    { component: "v", tier: "device", usedBlocks: 2, cachedFreeBlocks: 0, totalBlocks: 2 },
  ]);
  p.release(0);
  assert.equal(p.allocate(), 0);
  assert.deepEqual(p.checkInvariants(), []);
});

test("kvcache pool - promotion brings a half back to the device and moves the bytes", () => {
  const { p } = pool({ kDevice: 4, vDevice: 4, kHost: 4, vHost: 4 });
  const id = p.allocate()!;
  const device = p.storageOf("v", "device")!;
  device.write(p.residency(id, "v")!.slot, 0, Float32Array.from({ length: 16 }, (_, i) => i + 1));
  assert.equal(p.demote(id, "v"), true);
  assert.equal(where(p, id), "device/host");
  assert.deepEqual(Array.from(p.storageOf("v", "host")!.view!(p.residency(id, "v")!.slot)), Array.from({ length: 16 }, (_, i) => i + 1));
  assert.equal(p.promote(id, "v"), true);
  assert.equal(where(p, id), "device/device");
  assert.deepEqual(Array.from(device.view!(p.residency(id, "v")!.slot)), Array.from({ length: 16 }, (_, i) => i + 1));
  assert.deepEqual(p.bytesMoved.v, { demoted: V, promoted: V });
});

test("kvcache pool - a pool that cannot hold one block is a config error naming the field", () => {
  assert.throws(
    () => new BlockPool({ shape: SHAPE, blockSizeTokens: 2, bytes: { k: { device: 100, host: 0 }, v: { device: 10, host: 0 } } }),
    /kv cache config: bytes\.v\.device: must hold at least one block of 64 bytes, got 10/,
  );
});
