/**
 * Drift checks for code a package generates with buf and commits (protobuf-es
 * sources, descriptor sets): run buf the way `npm run generate` does, into a
 * temporary folder, and compare what is committed with what comes out.
 * buf and protoc-gen-es are found in the package's or the repo's node_modules/.bin.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, relative } from "node:path";
import { promisify } from "node:util";

/** Runs `buf ARGS` in `packageDir` (protoc-gen-es, a `local:` plugin, is found on the same PATH). */
export async function runBuf(packageDir: string, args: readonly string[]): Promise<void> {
  const binDirs = [join(packageDir, "node_modules", ".bin"), join(packageDir, "..", "..", "node_modules", ".bin")];
  const env = { ...process.env, PATH: [...binDirs, process.env.PATH ?? ""].join(delimiter) };
  await promisify(execFile)("buf", [...args], { cwd: packageDir, env });
}

/** Every file under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Calls `body` with a fresh temporary folder, removed afterwards. */
export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Asserts that `buf generate` in `packageDir` reproduces the committed `src/gen` byte for byte, and returns
 * the generated file list. `regenerate` names the command that fixes a stale tree, for the messages.
 */
export async function assertGeneratedCodeFresh(packageDir: string, regenerate: string): Promise<string[]> {
  return withTempDir("sigmaserve-gen-", async (outDir) => {
    await runBuf(packageDir, ["generate", "--output", outDir]);
    const committedDir = join(packageDir, "src", "gen");
    const freshDir = join(outDir, "src", "gen");
    const fresh = await listFiles(freshDir);
    assert.deepEqual(await listFiles(committedDir), fresh, `generated file list differs: run \`${regenerate}\` and commit`);
    for (const file of fresh) {
      const [a, b] = await Promise.all([readFile(join(committedDir, file), "utf8"), readFile(join(freshDir, file), "utf8")]);
      assert.equal(a, b, `${file} is stale: run \`${regenerate}\` and commit`);
    }
    return fresh;
  });
}
