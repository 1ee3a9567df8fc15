/**
 * File helpers around the in-memory reader and writer. Writes are atomic: the
 * bytes go to a temporary file in the same directory (so the rename cannot
 * cross file systems), are flushed to disk, and only then renamed over the
 * destination. A crash leaves either the old file or the new one, never a
 * half-written model; at worst a stray `.*.tmp` file remains beside it.
 */

import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { TensorMap } from "../tensor.js";
import { SafetensorsError } from "./errors.js";
import { type SafetensorsContents, readSafetensors } from "./read-safetensors.js";
import { type WriteSafetensorsOptions, writeSafetensors } from "./write-safetensors.js";

/** Random bytes in a temporary file's name, so concurrent writers never collide. */
const TEMP_NAME_RANDOM_BYTES = 6;

/** Reads and parses a safetensors file. fs failures and invalid files both throw `SafetensorsError`. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new SafetensorsError(`cannot read ${path}: ${(cause as Error).message}`, { reason: "io", cause });
  }
  try {
    return readSafetensors(bytes);
  } catch (cause) {
    if (!(cause instanceof SafetensorsError)) throw cause;
    throw new SafetensorsError(`${path}: ${cause.message}`, { reason: cause.reason, tensor: cause.tensor, cause });
  }
}

/** Writes `tensors` to `path` atomically (temp file, fsync, rename). */
export async function writeSafetensorsFile(
  path: string,
  tensors: TensorMap,
  options: WriteSafetensorsOptions,
): Promise<void> {
  const bytes = writeSafetensors(tensors, options);
  const tempPath = join(dirname(path), `.${basename(path)}.${randomBytes(TEMP_NAME_RANDOM_BYTES).toString("hex")}.tmp`);
  try {
    // "wx": fail rather than clobber if the temp name somehow exists.
    const handle = await open(tempPath, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, path);
  } catch (cause) {
    await rm(tempPath, { force: true });
    throw new SafetensorsError(`cannot write ${path}: ${(cause as Error).message}`, { reason: "io", cause });
  }
}
