import assert from "node:assert/strict";
import { test } from "node:test";
import { CapacityPlanError } from "./errors.js";
import { planCapacity, SELECTIVE_V_DEVICE_V_SHARE } from "./plan-capacity.js";

const GIB = 2 ** 30;
/** Sigma-1.5B (paper Table 14): 26 layers, n_k 4, n_v 16, head_dim 64. */
const SIGMA_1_5B = { num_hidden_layers: 26, num_key_heads: 4, num_value_heads: 16, head_dim: 64 };

test("planner - sigma-1.5b in bf16 needs 66,560 bytes per token against 106,496 for its GQA twin: 1.6× the tokens in 80 GiB", () => {
  const plan = planCapacity(SIGMA_1_5B, { dtype: "bf16", blockSizeTokens: 16, deviceBytes: 80 * GIB, mode: "full" });
  assert.deepEqual(plan.bytesPerToken, { k: 13_312, v: 53_248, total: 66_560 });
  assert.deepEqual(plan.bytesPerBlock, { k: 212_992, v: 851_968, total: 1_064_960 });
  assert.equal(plan.deviceBytesPerToken, 66_560);
  assert.equal(plan.hostBytesPerToken, 0);
  // 85,899,345,920 B ÷ 1,064,960 B per block = 80,659.2 → 80,659 whole blocks.
  assert.deepEqual([plan.deviceBlocks, plan.blocks, plan.tokens, plan.hostTokens, plan.limitedBy], [80_659, 80_659, 1_290_544, null, "device"]);
  assert.deepEqual(plan.gqaTwin?.shape, { ...SIGMA_1_5B, num_key_heads: 16 });
  assert.deepEqual(plan.gqaTwin?.bytesPerToken, { k: 53_248, v: 53_248, total: 106_496 });
  assert.deepEqual([plan.gqaTwin?.blocks, plan.gqaTwin?.tokens], [50_412, 806_592]);
  assert.equal(plan.vsGqaTwin?.deviceBytesPerToken, 1.6);
  assert.equal(plan.vsGqaTwin?.tokens, 1_290_544 / 806_592);
  assert.equal(plan.vsGqaTwin?.tokens.toFixed(2), "1.60");
});

test("planner - selective-v keeps 13,312 bytes per token on the device, in the half of it the worker gives K, and V on the host; the device limits with 512 GiB of host", () => {
  const plan = planCapacity(SIGMA_1_5B, { dtype: "bf16", blockSizeTokens: 16, deviceBytes: 80 * GIB, hostBytes: 512 * GIB, mode: "selective-v" });
  assert.equal(plan.deviceBytesPerToken, 13_312);
  assert.equal(plan.hostBytesPerToken, 53_248);
  // 40 GiB (80 x SELECTIVE_V_DEVICE_V_SHARE's other half) over 212,992-byte K blocks.
  assert.equal(SELECTIVE_V_DEVICE_V_SHARE, 0.5);
  assert.deepEqual([plan.deviceBlocks, plan.deviceTokens], [201_649, 3_226_384]);
  assert.deepEqual([plan.hostBlocks, plan.hostTokens], [645_277, 10_324_432]);
  assert.deepEqual([plan.tokens, plan.limitedBy], [3_226_384, "device"]);
  assert.equal(plan.gqaTwin?.deviceBytesPerToken, 53_248);
  assert.deepEqual([plan.gqaTwin?.tokens, plan.gqaTwin?.limitedBy], [806_592, "device"]);
  assert.equal(plan.vsGqaTwin?.deviceBytesPerToken, 4);
});

test("planner - selective-v with a small host is host-limited, and without hostBytes is device-limited", () => {
  const small = planCapacity(SIGMA_1_5B, { dtype: "bf16", blockSizeTokens: 16, deviceBytes: 80 * GIB, hostBytes: 64 * GIB, mode: "selective-v" });
  assert.deepEqual([small.hostTokens, small.deviceTokens, small.tokens, small.limitedBy], [1_290_544, 3_226_384, 1_290_544, "host"]);
  const unbounded = planCapacity(SIGMA_1_5B, { dtype: "bf16", blockSizeTokens: 16, deviceBytes: 80 * GIB, mode: "selective-v", gqaTwin: false });
  assert.deepEqual([unbounded.hostBytes, unbounded.hostTokens, unbounded.tokens, unbounded.limitedBy], [null, null, 3_226_384, "device"]);
  assert.equal(unbounded.gqaTwin, null);
  assert.equal(unbounded.vsGqaTwin, null);
});

test("planner - only whole blocks count: one byte short of a block fits no tokens, and that is a value, not an error", () => {
  const plan = planCapacity(SIGMA_1_5B, { dtype: "f32", blockSizeTokens: 16, deviceBytes: 2_129_919, mode: "full" });
  assert.deepEqual(plan.bytesPerBlock, { k: 425_984, v: 1_703_936, total: 2_129_920 });
  assert.deepEqual([plan.blocks, plan.tokens, plan.gqaTwin?.tokens, plan.vsGqaTwin?.tokens], [0, 0, 0, null]);
  assert.equal(planCapacity(SIGMA_1_5B, { dtype: "f32", blockSizeTokens: 16, deviceBytes: 2_129_920, mode: "full" }).tokens, 16);
});

test("planner - a model that is its own GQA twin plans the same twice", () => {
  const gqa = { num_hidden_layers: 4, num_key_heads: 4, num_value_heads: 4, head_dim: 32 };
  const plan = planCapacity(gqa, { dtype: "f16", blockSizeTokens: 16, deviceBytes: GIB, mode: "full" });
  assert.deepEqual(plan.bytesPerToken, { k: 1024, v: 1024, total: 2048 });
  assert.deepEqual(plan.vsGqaTwin, { tokens: 1, deviceBytesPerToken: 1 });
});

test("planner - bad inputs throw CapacityPlanError naming the field", () => {
  const base = { dtype: "bf16", blockSizeTokens: 16, deviceBytes: GIB, mode: "full" } as const;
  const cases: [() => unknown, string, string][] = [
    [() => planCapacity(SIGMA_1_5B, { ...base, deviceBytes: -1 }), "deviceBytes", "capacity plan: deviceBytes must be an integer >= 0, got -1"],
    [() => planCapacity(SIGMA_1_5B, { ...base, deviceBytes: 1.5 }), "deviceBytes", "capacity plan: deviceBytes must be an integer >= 0, got 1.5"],
    [() => planCapacity(SIGMA_1_5B, { ...base, hostBytes: Number.NaN }), "hostBytes", "capacity plan: hostBytes must be an integer >= 0, got NaN"],
    [() => planCapacity(SIGMA_1_5B, { ...base, blockSizeTokens: 0 }), "blockSizeTokens", "capacity plan: blockSizeTokens must be an integer >= 1, got 0"],
    [() => planCapacity(SIGMA_1_5B, { ...base, dtype: "f8" as "f16" }), "dtype", "capacity plan: dtype must be one of f32, bf16, f16, got f8"],
    [() => planCapacity(SIGMA_1_5B, { ...base, mode: "half" as "full" }), "mode", "capacity plan: mode must be one of full, selective-v, got half"],
    [() => planCapacity({ ...SIGMA_1_5B, head_dim: 0 }, base), "shape.head_dim", "capacity plan: shape.head_dim must be an integer >= 1, got 0"],
  ];
  for (const [plan, field, message] of cases) {
    assert.throws(plan, (err) => {
      assert.ok(err instanceof CapacityPlanError);
      assert.deepEqual([err.name, err.field, err.message], ["CapacityPlanError", field, message]);
      return true;
    });
  }
});

test("planner - tokens per GiB: bf16 is exactly twice f32, and K and V may have their own dtype", () => {
  const f32 = planCapacity(SIGMA_1_5B, { dtype: "f32", blockSizeTokens: 16, deviceBytes: GIB, mode: "full" });
  const bf16 = planCapacity(SIGMA_1_5B, { dtype: "bf16", blockSizeTokens: 16, deviceBytes: GIB, mode: "full" });
  const f16 = planCapacity(SIGMA_1_5B, { dtype: "f16", blockSizeTokens: 16, deviceBytes: GIB, mode: "full" });
  // 2^30 B ÷ 133,120 B per token (f32) = 8,066.09…; bf16 and f16 carry 66,560 B per token.
  assert.equal(f32.tokensPerGib, GIB / 133_120);
  assert.equal(bf16.tokensPerGib, 2 * f32.tokensPerGib);
  assert.equal(f16.tokensPerGib, bf16.tokensPerGib);
  assert.deepEqual(bf16.dtype, { k: "bf16", v: "bf16" });
  assert.equal(bf16.gqaTwin?.tokensPerGib, GIB / 106_496);
  // K bf16 (13,312 B per token) and V f32 (106,496 B per token).
  const mixed = planCapacity(SIGMA_1_5B, { dtype: { k: "bf16", v: "f32" }, blockSizeTokens: 16, deviceBytes: GIB, mode: "full" });
  assert.deepEqual(mixed.dtype, { k: "bf16", v: "f32" });
  assert.deepEqual(mixed.bytesPerToken, { k: 13_312, v: 106_496, total: 119_808 });
  assert.equal(mixed.tokensPerGib, GIB / 119_808);
  assert.throws(
    () => planCapacity(SIGMA_1_5B, { dtype: { k: "bf16", v: "e4m3" as "f16" }, blockSizeTokens: 16, deviceBytes: GIB, mode: "full" }),
    (err) => err instanceof CapacityPlanError && err.field === "dtype.v" && err.message === "capacity plan: dtype.v must be one of f32, bf16, f16, got e4m3",
  );
});
