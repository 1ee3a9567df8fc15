/**
 * Reads the JSON files that sit next to a model (tokenizer.json,
 * tokenizer_config.json). Every failure becomes a `TokenizerError` that names
 * the file, so a bad model directory is diagnosed from the message alone.
 */
import { readFile } from "node:fs/promises";
import { TokenizerError } from "./errors.js";

/** `tokenizer.json`: a byte tokenizer description or a Hugging Face tokenizer. */
export const TOKENIZER_FILE_NAME = "tokenizer.json";
/** `tokenizer_config.json`: optional Hugging Face metadata (bos/eos/pad token names). */
export const TOKENIZER_CONFIG_FILE_NAME = "tokenizer_config.json";

/** A parsed JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses `text` as a JSON object; `source` names it in errors. */
export function parseJsonObject(text: string, source: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`is not valid JSON (${(error as Error).message})`, { source, cause: error });
  }
  if (!isJsonObject(value)) throw new TokenizerError("must hold a JSON object", { source });
  return value;
}

/**
 * The JSON object in `path`. With `optional`, a missing file gives undefined;
 * any other failure (unreadable, not JSON, not an object) still throws.
 */
export async function readJsonFile(path: string, options: { optional: true }): Promise<JsonObject | undefined>;
export async function readJsonFile(path: string, options?: { optional?: false }): Promise<JsonObject>;
export async function readJsonFile(path: string, options: { optional?: boolean } = {}): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    if (missing && options.optional === true) return undefined;
    const what = missing ? "not found" : `cannot be read (${(error as Error).message})`;
    throw new TokenizerError(what, { source: path, cause: error });
  }
  return parseJsonObject(text, path);
}
