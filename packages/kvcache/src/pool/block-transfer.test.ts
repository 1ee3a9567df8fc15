import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvModelShape } from "../kv-types.js";
import { KvCacheManager } from "../manager/kv-cache-manager.js";
import { readKvFrameHeader } from "../transfer/read-kv-frame-header.js";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES } from "../transfer/kv-frame-layout.js";
import { exportCachedBlocks, importCachedBlocks } from "./block-transfer.js";

const SHAPE: KvModelShape = { num_hidden_layers: 2, num_key_heads: 1, num_value_heads: 2, head_dim: 4 };
const bytes = { k: { device: 1 << 16, host: 0 }, v: { device: 1 << 16, host: 0 } };

function sourceWithThreeCachedBlocks() {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes });
  const prompt = [1, 2, 3, 4, 5, 6, 7];
  m.allocate("a", { promptTokens: prompt });
  for (let p = 0; p < prompt.length; p++) {
    for (let layer = 0; layer < 2; layer++) {
      m.writeTokenKv("a", p, layer, Float32Array.from({ length: 4 }, (_, i) => p * 10 + layer + i / 10), Float32Array.from({ length: 8 }, (_, i) => -(p * 10 + layer) - i / 10));
    }
  }
  m.commitTokens("a", prompt);
  m.free("a");
  const hashes = m.promptBlockHashes(prompt);
  return { m, hashes, parents: new Map(hashes.map((h, i) => [h, i === 0 ? null : hashes[i - 1]!])) };
}

function slotData(m: KvCacheManager, hash: bigint, component: "k" | "v"): number[] {
  const id = m.pool.lookup(hash)!;
  return Array.from(m.pool.storageOf(component, "device")!.view!(m.pool.residency(id, component)!.slot));
}

test("kvcache transfer - exported blocks import into another pool bit for bit and are cached there", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames, exported, missing } = exportCachedBlocks(source.m.pool, [...source.hashes, 0xdeadn], "f32");
  assert.deepEqual(exported, source.hashes);
  assert.deepEqual(missing, [0xdeadn]);
  const target = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes });
  const result = importCachedBlocks(target.pool, frames, source.parents);
  assert.deepEqual(result, { imported: source.hashes, present: [], refused: [], noRoom: [] });
  for (const hash of source.hashes) for (const c of ["k", "v"] as const) assert.deepEqual(slotData(target, hash, c), slotData(source.m, hash, c));
  // The imported prefix is a cache hit for the same prompt on the target.
  assert.equal(target.allocate("b", { promptTokens: [1, 2, 3, 4, 5, 6, 7] })!.numCachedTokens, 6);
  assert.deepEqual(target.pool.checkInvariants(), []);
});

test("kvcache transfer - a flipped byte refuses that block by hash and it is never stored", () => {
  const source = sourceWithThreeCachedBlocks();
  const { frames } = exportCachedBlocks(source.m.pool, source.hashes, "f32");
  const header = readKvFrameHeader(frames.v);
  // Flip a byte in the payload of block 1 of the V frame.
  const payloadStart = KV_FRAME_HEADER_BYTES + header.blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
  frames.v[payloadStart + header.payloadBytesPerBlock + 5]! ^= 0x40;
  const target = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes });
  const result = importCachedBlocks(target.pool, frames, source.parents);
  assert.deepEqual(result.imported, [source.hashes[0], source.hashes[2]]);
  assert.equal(result.refused.length, 1);
  assert.equal(result.refused[0]!.hash, source.hashes[1]);
  assert.match(result.refused[0]!.reason, new RegExp(`block 0x${source.hashes[1]!.toString(16).padStart(16, "0")} checksum mismatch`));
  assert.equal(target.pool.lookup(source.hashes[1]!), undefined);
  assert.deepEqual(target.usage().map((u) => u.usedBlocks + u.cachedFreeBlocks), [2, 2], "only the two sound blocks are held");
  assert.deepEqual(target.pool.checkInvariants(), []);
});
