import assert from "node:assert/strict";
import { test } from "node:test";
import { presetConfig } from "@sigmaserve/model/config";
import type { LoadedModel } from "@sigmaserve/model/weights";
import { poolBytes } from "../worker-runtime.js";
import { loadWorkerConfig } from "./worker-config.js";

const MIB = 2 ** 20;
// sigma-tiny: n_k 1, n_v 4.
const model = { config: presetConfig("sigma-tiny") } as LoadedModel;

test("worker pools - the byte budget splits by heads × element width, so K and V hold the same number of blocks whatever their dtypes", () => {
  // Same dtype: n_k : n_v = 1 : 4.
  assert.deepEqual(poolBytes(loadWorkerConfig(["--kv-device-mib", "10"], {}), model), { k: { device: 2 * MIB, host: 0 }, v: { device: 8 * MIB, host: 0 } });
  // K f32 (4 bytes) against V bf16 (2 bytes): 1·4 : 4·2 = 1 : 2.
  const mixed = poolBytes(loadWorkerConfig(["--kv-device-mib", "12", "--kv-host-mib", "3", "--kv-k-dtype", "f32"], {}), model);
  assert.deepEqual(mixed, { k: { device: 4 * MIB, host: 1 * MIB }, v: { device: 8 * MIB, host: 2 * MIB } });
  // Blocks per pool: K f32 32 KiB per 16-token block (4 layers × 1 × 16 × 32 × 4), V bf16 64 KiB: 128 of each.
  assert.equal(mixed.k.device / (4 * 1 * 16 * 32 * 4), mixed.v.device / (4 * 4 * 16 * 32 * 2));
});
