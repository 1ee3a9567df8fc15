import assert from "node:assert/strict";
import { test } from "node:test";
import { kvv1 } from "@sigmaserve/proto";
import { CoordArgumentError } from "../errors.js";
import { kvDtypeFromProto, kvDtypeToProto, type KvDtype } from "./kv-proto-enums.js";

test("coord kv enums - pool dtypes map to KvDtype and back; UNSPECIFIED and unknown numbers are undefined, never a guess", () => {
  assert.deepEqual(
    (["f32", "bf16", "f16"] as const).map((dtype) => [dtype, kvDtypeToProto(dtype)]),
    [
      ["f32", kvv1.KvDtype.F32],
      ["bf16", kvv1.KvDtype.BF16],
      ["f16", kvv1.KvDtype.F16],
    ],
  );
  assert.deepEqual([kvv1.KvDtype.F32, kvv1.KvDtype.BF16, kvv1.KvDtype.F16].map(kvDtypeFromProto), ["f32", "bf16", "f16"]);
  assert.equal(kvDtypeFromProto(kvv1.KvDtype.UNSPECIFIED), undefined);
  assert.equal(kvDtypeFromProto(99 as kvv1.KvDtype), undefined);
  assert.throws(() => kvDtypeToProto("fp8" as KvDtype, "kv_capacity.dtype"), (err) => err instanceof CoordArgumentError && /kv_capacity\.dtype/.test(err.message));
});
