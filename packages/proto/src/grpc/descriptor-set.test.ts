/**
 * Drift check: the committed descriptors/sigmaserve.binpb (the descriptors
 * reflection serves, comments included) must be exactly what `buf build`
 * produces from proto/ today, and must carry source info.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DESCRIPTOR_SET_URL } from "./reflection.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binDirs = [join(packageDir, "node_modules", ".bin"), join(packageDir, "..", "..", "node_modules", ".bin")];
const STALE = "descriptors/sigmaserve.binpb is stale: run `npm run generate -w @sigmaserve/proto` and commit";

test("proto - committed descriptors/sigmaserve.binpb equals a fresh buf build, with source info", async () => {
  const outDir = await mkdtemp(join(tmpdir(), "sigmaserve-descriptors-"));
  try {
    const env = { ...process.env, PATH: [...binDirs, process.env.PATH ?? ""].join(delimiter) };
    const freshPath = join(outDir, "sigmaserve.binpb");
    await promisify(execFile)("buf", ["build", "--as-file-descriptor-set", "-o", freshPath], { cwd: packageDir, env });
    const [committed, fresh] = await Promise.all([readFile(DESCRIPTOR_SET_URL), readFile(freshPath)]);
    const names = (bytes: Uint8Array) => fromBinary(FileDescriptorSetSchema, bytes).file.map((f) => f.name).sort();
    assert.deepEqual(names(committed), names(fresh), STALE);
    assert.ok(committed.equals(fresh), STALE);
    const inference = fromBinary(FileDescriptorSetSchema, committed).file.find((f) => f.name === "sigmaserve/v1/inference.proto");
    assert.ok((inference?.sourceCodeInfo?.location.length ?? 0) > 0, "the set keeps source info (no --exclude-source-info)");
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
