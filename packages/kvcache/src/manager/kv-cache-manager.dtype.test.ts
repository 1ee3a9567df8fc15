/**
 * 16-bit pools through the manager's door: what writeTokenKv stores, what
 * readVRows and the attention view give back, what demotion and promotion
 * move, per dtype and with K and V apart. The oracles are the arithmetic
 * bf16 and f16 roundings (transfer/testing/*-oracle.ts) of what was written.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KV_DTYPES, type KvDtype, type KvDtypes, type KvModelShape } from "../kv-types.js";
import { KvCacheConfigError } from "../pool/errors.js";
import { HostArenaStorage } from "../pool/tier-storage.js";
import { oracleBf16Value, oracleRoundBf16 } from "../transfer/testing/bf16-oracle.js";
import { oracleF16Value, oracleRoundF16 } from "../transfer/testing/f16-oracle.js";
import { KvCacheManager } from "./kv-cache-manager.js";
import { poolOf } from "./testing/pool-of.js";

// One layer, n_k 1, n_v 2, head_dim 4, 2 tokens per block: K block 8 elements, V block 16 elements.
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 2, head_dim: 4 };
const BLOCK = 2;
const ELEMENTS = { k: 8, v: 16 };
const WIDTH: Record<KvDtype, number> = { f32: 4, bf16: 2, f16: 2 };
/** Values with more precision than either 16-bit dtype keeps, and one f16 cannot hold (70000 overflows to Inf). */
const kRow = (p: number) => Float32Array.of(p + 1 / 3, -p - 0.1, 70000 + p, 2 ** -20 * (p + 1));
const vRow = (p: number) => Float32Array.from({ length: 8 }, (_, i) => (i - 3.3) * (p + 1) * 0.7071);
const round = (dtype: KvDtype, x: number): number => (dtype === "f32" ? Math.fround(x) : dtype === "bf16" ? oracleRoundBf16(x) : oracleRoundF16(x));
const patternValue = (dtype: KvDtype, half: number): number => (dtype === "bf16" ? oracleBf16Value(half) : oracleF16Value(half));

function manager(dtype: KvDtypes, options: { vHostBlocks?: number; selective?: boolean; blocks?: number } = {}) {
  const blocks = options.blocks ?? 8;
  const bytes = (component: "k" | "v", n: number) => n * ELEMENTS[component] * WIDTH[dtype[component]];
  return new KvCacheManager({
    shape: SHAPE,
    blockSizeTokens: BLOCK,
    modelId: "m",
    dtype,
    mode: options.selective === true ? "selective-v" : "full",
    recentWindowBlocks: 1,
    bytes: { k: { device: bytes("k", blocks), host: 0 }, v: { device: bytes("v", options.selective === true ? 2 : blocks), host: bytes("v", options.vHostBlocks ?? 0) } },
  });
}

function writeTokens(m: KvCacheManager, from: number, to: number): void {
  for (let p = from; p < to; p++) m.writeTokenKv("r", p, 0, kRow(p), vRow(p));
}

const PAIRS: KvDtypes[] = [...KV_DTYPES.map((d) => ({ k: d, v: d })), { k: "bf16", v: "f16" }, { k: "f16", v: "f32" }];

test("kvcache dtype - writes round f32 into each component's dtype; readVRows and the view give the oracle's rounding back", () => {
  for (const dtype of PAIRS) {
    const m = manager(dtype);
    assert.ok(m.allocate("r", { promptTokens: [1, 2, 3, 4] }));
    writeTokens(m, 0, 4);
    m.commitTokens("r", [1, 2, 3, 4]);
    const view = m.attentionView();
    assert.deepEqual(view.dtype, dtype);
    assert.equal(view.kDevice.constructor, dtype.k === "f32" ? Float32Array : Uint16Array);
    assert.equal(view.vDevice.constructor, dtype.v === "f32" ? Float32Array : Uint16Array);
    assert.equal(view.vHost.constructor, dtype.v === "f32" ? Float32Array : Uint16Array, "an absent host tier is an empty arena of V's type");
    // V rows through readVRows (f32 out, widened exactly), both heads.
    for (const head of [0, 1]) {
      const out = new Float32Array(4 * 4);
      m.readVRows("r", 0, head, [0, 1, 2, 3], out);
      const expected = [0, 1, 2, 3].flatMap((p) => Array.from(vRow(p).subarray(head * 4, head * 4 + 4), (x) => round(dtype.v, x)));
      assert.deepEqual(Array.from(out), expected, `V ${JSON.stringify(dtype)} head ${head}`);
    }
    // K rows through the view's arena and slots: the stored patterns are the oracle's rounding.
    const table = m.blockTable("r");
    for (let p = 0; p < 4; p++) {
      const start = poolOf(m).residency(table[Math.floor(p / BLOCK)]!, "k")!.slot * view.slotFloats.k + (p % BLOCK) * 4;
      const stored = Array.from(view.kDevice.subarray(start, start + 4), (x) => (dtype.k === "f32" ? x : patternValue(dtype.k, x)));
      assert.deepEqual(stored, Array.from(kRow(p), (x) => round(dtype.k, x)), `K ${JSON.stringify(dtype)} position ${p}`);
    }
    assert.equal(m.vBytesRead.device, 2 * 4 * 4 * WIDTH[dtype.v], "bytes read are counted at the stored width");
    assert.deepEqual(m.checkInvariants(), []);
  }
});

test("kvcache dtype - a 16-bit component's block is half the bytes, so the same budget holds twice the blocks", () => {
  const budget = { k: { device: 8 * 8 * 4, host: 0 }, v: { device: 8 * 16 * 4, host: 0 } };
  const f32 = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes: budget });
  const bf16 = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes: budget, dtype: { k: "bf16", v: "bf16" } });
  const mixed = new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes: budget, dtype: { v: "f16" } });
  assert.deepEqual([f32.dtype, f32.blockBytes, poolOf(f32).numBlocks], [{ k: "f32", v: "f32" }, { k: 32, v: 64 }, 8]);
  assert.deepEqual([bf16.dtype, bf16.blockBytes, poolOf(bf16).numBlocks], [{ k: "bf16", v: "bf16" }, { k: 16, v: 32 }, 16]);
  // K f32 (the default) holds 8 blocks, V f16 16: a live block needs one of each.
  assert.deepEqual([mixed.dtype, mixed.blockBytes, poolOf(mixed).capacity("v", "device"), poolOf(mixed).numBlocks], [{ k: "f32", v: "f16" }, { k: 32, v: 32 }, 16, 8]);
});

test("kvcache dtype - demotion and promotion move V's stored bits unchanged (no conversion between tiers)", () => {
  for (const v of KV_DTYPES) {
    const m = manager({ k: "bf16", v }, { selective: true, vHostBlocks: 4 });
    assert.ok(m.allocate("r", { promptTokens: [1, 2, 3, 4] }));
    writeTokens(m, 0, 4);
    m.commitTokens("r", [1, 2, 3, 4]);
    const pool = poolOf(m);
    const first = m.blockTable("r")[0]!;
    const vSlotBits = () => Array.from(pool.storageOf("v", pool.residency(first, "v")!.tier)!.view!(pool.residency(first, "v")!.slot));
    const before = vSlotBits();
    // Two V slots on the device and a recent window of one block: a third block pushes the first block's V to the host.
    assert.ok(m.appendSlots("r", 2));
    assert.equal(pool.residency(first, "v")!.tier, "host");
    assert.deepEqual(vSlotBits(), before, `${v} demoted as stored`);
    const out = new Float32Array(8);
    m.readVRows("r", 0, 0, [0, 1], out);
    assert.deepEqual(Array.from(out), [0, 1].flatMap((p) => Array.from(vRow(p).subarray(0, 4), (x) => round(v, x))));
    assert.equal(m.vBytesRead.host, 2 * 4 * WIDTH[v]);
    assert.deepEqual(m.bytesMoved.v, { demoted: 16 * WIDTH[v], promoted: 0 });
    m.free("r");
    assert.ok(pool.promote(first, "v"));
    assert.equal(pool.residency(first, "v")!.tier, "device");
    assert.deepEqual(vSlotBits(), before, `${v} promoted as stored`);
    assert.deepEqual(m.bytesMoved.v, { demoted: 16 * WIDTH[v], promoted: 16 * WIDTH[v] });
    assert.deepEqual(m.checkInvariants(), []);
  }
});

test("kvcache dtype - a storage of another dtype than configured, or an unknown dtype, is a config error", () => {
  const bytes = { k: { device: 1024, host: 0 }, v: { device: 1024, host: 0 } };
  assert.throws(
    () => new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes, dtype: { k: "bf16" }, createStorage: (c, t, n, f) => new HostArenaStorage(c, t, n, f) }),
    (err) => err instanceof KvCacheConfigError && err.message === "kv cache config: createStorage(k, device): must store bf16, got f32",
  );
  assert.throws(
    () => new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK, modelId: "m", bytes, dtype: { v: "fp8" as "f16" } }),
    (err) => err instanceof KvCacheConfigError && err.message === "kv cache config: dtype.v: must be one of f32, bf16, f16, got fp8",
  );
});
