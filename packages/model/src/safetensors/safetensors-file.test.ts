import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readSafetensorsFile, writeSafetensorsFile } from "./safetensors-file.js";
import { writeSafetensors } from "./write-safetensors.js";

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "safetensors-test-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const TENSORS = new Map([["w", { shape: [2], data: Float32Array.from([1, -2]) }]]);

test("safetensors file - a written file reads back, and only the model file is left in the directory", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    await writeSafetensorsFile(path, TENSORS, { dtype: "f16", metadata: { format: "pt" } });
    const read = await readSafetensorsFile(path);
    assert.deepEqual([...(read.tensors.get("w")?.data ?? [])], [1, -2]);
    assert.deepEqual(read.storedDtypes, new Map([["w", "f16"]]));
    assert.deepEqual(read.metadata, { format: "pt" });
    assert.deepEqual(await readdir(dir), ["model.safetensors"]);
  });
});

test("safetensors file - writing over an existing model replaces it whole", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    await writeFile(path, "old contents");
    await writeSafetensorsFile(path, TENSORS, { dtype: "f32" });
    const read = await readSafetensorsFile(path);
    assert.deepEqual(read.tensors.get("w")?.shape, [2]);
    assert.deepEqual(await readdir(dir), ["model.safetensors"]);
  });
});

test("safetensors file - a failed rename reports io and leaves no temp file behind", async () => {
  await withTempDir(async (dir) => {
    // The destination is a non-empty directory, so the temp file is written
    // and flushed but the final rename fails.
    const path = join(dir, "taken");
    await mkdir(path);
    await writeFile(join(path, "keep"), "");
    await assert.rejects(writeSafetensorsFile(path, TENSORS, { dtype: "f32" }), {
      name: "SafetensorsError",
      reason: "io",
      message: new RegExp(`^cannot write ${path}: `),
    });
    assert.deepEqual(await readdir(dir), ["taken"]);
    assert.deepEqual(await readdir(path), ["keep"]);
  });
});

test("safetensors file - writing into a missing directory reports io", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "absent", "model.safetensors");
    await assert.rejects(writeSafetensorsFile(path, TENSORS, { dtype: "f32" }), {
      name: "SafetensorsError",
      reason: "io",
      message: new RegExp(`^cannot write ${path}: ENOENT`),
    });
    assert.deepEqual(await readdir(dir), []);
  });
});

test("safetensors file - a missing file and an invalid file both name the path", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "missing.safetensors");
    await assert.rejects(readSafetensorsFile(missing), {
      name: "SafetensorsError",
      reason: "io",
      message: new RegExp(`^cannot read ${missing}: ENOENT`),
    });
    const truncated = join(dir, "truncated.safetensors");
    await writeFile(truncated, writeSafetensors(TENSORS, { dtype: "f32" }).subarray(0, -3));
    await assert.rejects(readSafetensorsFile(truncated), {
      name: "SafetensorsError",
      reason: "truncated",
      tensor: "w",
      message:
        `${truncated}: file is truncated: tensor "w" needs data bytes [0, 8) but the data buffer holds only 5 bytes; ` +
        "3 of its 8 bytes are missing (the file is 3 bytes short)",
    });
  });
});
