/**
 * Drift check: the committed src/gen (ONNX's schema in protobuf-es) must be
 * exactly what `buf generate` produces from the vendored proto/onnx/onnx.proto
 * today. Regenerates into a temporary folder and compares bytes both ways.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binDirs = [join(packageDir, "node_modules", ".bin"), join(packageDir, "..", "..", "node_modules", ".bin")];

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

test("onnx schema - committed src/gen equals a fresh buf generate of the vendored onnx.proto", async () => {
  const outDir = await mkdtemp(join(tmpdir(), "sigmaserve-onnx-gen-"));
  try {
    const env = { ...process.env, PATH: [...binDirs, process.env.PATH ?? ""].join(delimiter) };
    await promisify(execFile)("buf", ["generate", "--output", outDir], { cwd: packageDir, env });
    const committedDir = join(packageDir, "src", "gen");
    const freshDir = join(outDir, "src", "gen");
    const fresh = await listFiles(freshDir);
    assert.deepEqual(await listFiles(committedDir), fresh, "generated file list differs: run `npm run generate -w @sigmaserve/model` and commit");
    assert.deepEqual(fresh, ["onnx/onnx_pb.ts"]);
    for (const file of fresh) {
      const [a, b] = await Promise.all([readFile(join(committedDir, file), "utf8"), readFile(join(freshDir, file), "utf8")]);
      assert.equal(a, b, `${file} is stale: run \`npm run generate -w @sigmaserve/model\` and commit`);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
