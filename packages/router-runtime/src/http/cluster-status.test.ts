import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import { kvDensityView } from "./cluster-status.js";

/** sigma-tiny's pools at 16 tokens per block: K 2,048 elements, V 8,192 elements per block. */
function info(dtype: { k: kvv1.KvDtype; v: kvv1.KvDtype }, width: { k: number; v: number }, kvDtype = kvv1.KvDtype.UNSPECIFIED) {
  return create(coordv1.WorkerInfoSchema, {
    kvHash: { blockSizeTokens: 16 },
    kvDtype,
    kvCapacity: [
      { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, numBlocks: 100, blockBytes: BigInt(2_048 * width.k), dtype: dtype.k },
      { component: kvv1.KvComponent.V, tier: kvv1.KvTier.DEVICE, numBlocks: 100, blockBytes: BigInt(8_192 * width.v), dtype: dtype.v },
      { component: kvv1.KvComponent.V, tier: kvv1.KvTier.HOST, numBlocks: 400, blockBytes: BigInt(8_192 * width.v), dtype: dtype.v },
    ],
  });
}

test("cluster status - each worker's K and V dtype and tokens per GiB come from its capacity entries; bf16 holds twice f32's tokens", () => {
  const f32 = kvDensityView(info({ k: kvv1.KvDtype.F32, v: kvv1.KvDtype.F32 }, { k: 4, v: 4 }));
  const bf16 = kvDensityView(info({ k: kvv1.KvDtype.BF16, v: kvv1.KvDtype.BF16 }, { k: 2, v: 2 }, kvv1.KvDtype.BF16));
  const mixed = kvDensityView(info({ k: kvv1.KvDtype.BF16, v: kvv1.KvDtype.F16 }, { k: 2, v: 2 }, kvv1.KvDtype.BF16));
  // 2^30 × 16 tokens ÷ (8,192 + 32,768) bytes per block = 419,430.4 tokens per GiB in f32.
  assert.deepEqual(f32, { kv_dtype: { k: "f32", v: "f32" }, kv_tokens_per_gib: 419_430.4 });
  assert.deepEqual(bf16, { kv_dtype: { k: "bf16", v: "bf16" }, kv_tokens_per_gib: 2 * 419_430.4 });
  assert.deepEqual(mixed.kv_dtype, { k: "bf16", v: "f16" }, "V's type is read from V's pools, not from kv_dtype (K's)");
});

test("cluster status - a worker that publishes no pool dtype falls back to kv_dtype, then f32; no block sizes means no density", () => {
  const older = kvDensityView(info({ k: kvv1.KvDtype.UNSPECIFIED, v: kvv1.KvDtype.UNSPECIFIED }, { k: 2, v: 2 }, kvv1.KvDtype.F16));
  assert.deepEqual(older.kv_dtype, { k: "f16", v: "f16" });
  const oldest = kvDensityView(info({ k: kvv1.KvDtype.UNSPECIFIED, v: kvv1.KvDtype.UNSPECIFIED }, { k: 4, v: 4 }));
  assert.deepEqual(oldest, { kv_dtype: { k: "f32", v: "f32" }, kv_tokens_per_gib: 419_430.4 });
  assert.deepEqual(kvDensityView(create(coordv1.WorkerInfoSchema, {})), { kv_dtype: { k: "f32", v: "f32" }, kv_tokens_per_gib: null });
});
