/**
 * Drift check: the committed src/gen (ONNX's schema in protobuf-es) must be
 * exactly what `buf generate` produces from the vendored proto/onnx/onnx.proto
 * today. Regenerates into a temporary folder and compares bytes both ways.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertGeneratedCodeFresh } from "@sigmaserve/testkit";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("onnx schema - committed src/gen equals a fresh buf generate of the vendored onnx.proto", async () => {
  assert.deepEqual(await assertGeneratedCodeFresh(packageDir, "npm run generate -w @sigmaserve/model"), ["onnx/onnx_pb.ts"]);
});
