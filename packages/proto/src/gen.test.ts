/**
 * Drift check: the committed src/gen must be exactly what `buf generate`
 * produces from proto/ today. Regenerates into a temporary folder (buf's
 * --output) and compares file lists and bytes both ways.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertGeneratedCodeFresh } from "@sigmaserve/testkit";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

test("proto - committed src/gen equals a fresh buf generate", async () => {
  const fresh = await assertGeneratedCodeFresh(packageDir, "npm run generate -w @sigmaserve/proto");
  assert.ok(fresh.length >= 7, `expected the seven proto files' outputs, got ${fresh.join(", ")}`);
});
