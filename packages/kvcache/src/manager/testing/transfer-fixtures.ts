/** Two small pools and tools for the migration tests: a source holding a 3-block chain, a target, and a way to damage a frame. */
import type { KvEventBody } from "../../events/kv-event.js";
import type { KvModelShape } from "../../kv-types.js";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES } from "../../transfer/kv-frame-layout.js";
import { readKvFrameHeader } from "../../transfer/read-kv-frame-header.js";
import { KvCacheManager } from "../kv-cache-manager.js";
import { poolOf } from "./pool-of.js";

// Two layers, n_k 1, n_v 2, head_dim 4, 2 tokens per block: K block 64 bytes, V block 128 bytes.
export const SHAPE: KvModelShape = { num_hidden_layers: 2, num_key_heads: 1, num_value_heads: 2, head_dim: 4 };
export const K_BLOCK = 64;
export const V_BLOCK = 128;
export const bytes = { k: { device: 1 << 16, host: 0 }, v: { device: 1 << 16, host: 0 } };
export const PROMPT = [1, 2, 3, 4, 5, 6, 7];

export function sourceWithThreeCachedBlocks(options: { vHostBlocks?: number } = {}) {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes: { k: bytes.k, v: { device: bytes.v.device, host: (options.vHostBlocks ?? 0) * V_BLOCK } } });
  m.allocate("a", { promptTokens: PROMPT });
  for (let p = 0; p < PROMPT.length; p++) {
    for (let layer = 0; layer < 2; layer++) {
      m.writeTokenKv("a", p, layer, Float32Array.from({ length: 4 }, (_, i) => p * 10 + layer + i / 10), Float32Array.from({ length: 8 }, (_, i) => -(p * 10 + layer) - i / 10));
    }
  }
  m.commitTokens("a", PROMPT);
  m.free("a");
  const hashes = m.promptBlockHashes(PROMPT);
  return { m, hashes, parents: new Map(hashes.map((h, i) => [h, i === 0 ? null : hashes[i - 1]!])) };
}

export function target(blocks?: number) {
  const events: KvEventBody[] = [];
  const sized = blocks === undefined ? bytes : { k: { device: blocks * K_BLOCK, host: 0 }, v: { device: blocks * V_BLOCK, host: 0 } };
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes: sized, onEvent: (e) => events.push(e) });
  return { m, events };
}

/** A block's slot, read from whichever tier it is on. */
export function slotData(m: KvCacheManager, hash: bigint, component: "k" | "v"): number[] {
  const pool = poolOf(m);
  const id = pool.lookup(hash)!;
  const where = pool.residency(id, component)!;
  return Array.from(pool.storageOf(component, where.tier)!.view!(where.slot));
}

/** Flips one payload byte of block `index` in a frame. */
export function corrupt(frame: Uint8Array, index: number): void {
  const header = readKvFrameHeader(frame);
  const payloadStart = KV_FRAME_HEADER_BYTES + header.blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
  frame[payloadStart + index * header.payloadBytesPerBlock + 5]! ^= 0x40;
}

export const stored = (hash: bigint, parent: bigint | null): KvEventBody[] =>
  (["k", "v"] as const).map((component) => ({ kind: "stored", component, tier: "device", blockHashes: [hash], ...(parent === null ? {} : { parentBlockHash: parent }) }) as KvEventBody);

export const removed = (hash: bigint): KvEventBody[] => (["k", "v"] as const).map((component) => ({ kind: "removed", component, tier: "device", blockHashes: [hash] }));
