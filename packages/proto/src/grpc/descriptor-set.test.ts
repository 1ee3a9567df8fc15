/**
 * Drift check: the committed descriptors/sigmaserve.binpb (the descriptors
 * reflection serves, comments included) must be exactly what `buf build`
 * produces from proto/ today, and must carry source info.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runBuf, withTempDir } from "@sigmaserve/testkit";
import { DESCRIPTOR_SET_URL } from "./reflection.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STALE = "descriptors/sigmaserve.binpb is stale: run `npm run generate -w @sigmaserve/proto` and commit";

test("proto - committed descriptors/sigmaserve.binpb equals a fresh buf build, with source info", async () => {
  await withTempDir("sigmaserve-descriptors-", async (outDir) => {
    const freshPath = join(outDir, "sigmaserve.binpb");
    await runBuf(packageDir, ["build", "--as-file-descriptor-set", "-o", freshPath]);
    const [committed, fresh] = await Promise.all([readFile(DESCRIPTOR_SET_URL), readFile(freshPath)]);
    const names = (bytes: Uint8Array) => fromBinary(FileDescriptorSetSchema, bytes).file.map((f) => f.name).sort();
    assert.deepEqual(names(committed), names(fresh), STALE);
    assert.ok(committed.equals(fresh), STALE);
    const inference = fromBinary(FileDescriptorSetSchema, committed).file.find((f) => f.name === "sigmaserve/v1/inference.proto");
    assert.ok((inference?.sourceCodeInfo?.location.length ?? 0) > 0, "the set keeps source info (no --exclude-source-info)");
  });
});
