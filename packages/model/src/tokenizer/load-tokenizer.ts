/**
 * Picks the tokenizer of a model directory from its `tokenizer.json`. The
 * file is either our own byte tokenizer description
 * (`"type": "sigmaserve-byte"`, what `model make` wrote before it wrote HF
 * files) or a Hugging Face tokenizer (it has a `"model"` section, next to an
 * optional tokenizer_config.json). The byte tokenizer written as HF files
 * (byte-tokenizer-hf-files.ts) is recognised and loaded as `ByteTokenizer`,
 * so the demo model keeps its kind "byte" whichever format its dir has. Anything
 * else is a `TokenizerError` that names the file and what was wrong with it.
 * The byte description is checked field by field: its values are fixed by
 * version 1, and a file that disagrees was written for another tokenizer.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { byteTokenizerHfConfig, byteTokenizerHfJsonText, isByteTokenizerHfJson } from "./byte-tokenizer-hf-files.js";
import { TokenizerError } from "./errors.js";
import { HfTokenizer } from "./hf-tokenizer.js";
import { TOKENIZER_CONFIG_FILE_NAME, TOKENIZER_FILE_NAME, isJsonObject, readJsonFile } from "./read-json-file.js";
import type { Tokenizer } from "./tokenizer.js";
import { BYTE_TOKENIZER_TYPE, BYTE_TOKENIZER_VERSION, HF_TOKENIZER_SUMMARY_TYPE } from "./tokenizer-description.js";

/** Where a description came from, for error messages, and the HF config that goes with it. */
export interface TokenizerFromDescriptionOptions {
  /** Names the description in errors; default "tokenizer.json". */
  readonly source?: string;
  /** tokenizer_config.json contents, used only for a Hugging Face tokenizer. */
  readonly tokenizerConfig?: object;
  /** Names the config in errors; default "tokenizer_config.json". */
  readonly configSource?: string;
}

/**
 * The tokenizer a parsed tokenizer.json describes: a byte tokenizer
 * description or a Hugging Face tokenizer.json. Throws `TokenizerError`.
 */
export function tokenizerFromDescription(description: unknown, options: TokenizerFromDescriptionOptions = {}): Tokenizer {
  const source = options.source ?? TOKENIZER_FILE_NAME;
  if (!isJsonObject(description)) throw new TokenizerError("must hold a JSON object", { source });
  const type = description["type"];
  if (type === BYTE_TOKENIZER_TYPE) {
    checkByteDescription(description, source);
    return new ByteTokenizer();
  }
  if ("model" in description) {
    if (isByteTokenizerHfJson(description)) return new ByteTokenizer();
    return HfTokenizer.fromJson(description, options.tokenizerConfig, {
      tokenizer: source,
      config: options.configSource ?? TOKENIZER_CONFIG_FILE_NAME,
    });
  }
  if (type === HF_TOKENIZER_SUMMARY_TYPE) {
    throw new TokenizerError(
      'is a summary of a Hugging Face tokenizer ("type": "huggingface"), which cannot be loaded; put the model\'s own tokenizer.json here',
      { source },
    );
  }
  const seen = type === undefined ? "no \"type\"" : `"type": ${JSON.stringify(type)}`;
  throw new TokenizerError(
    `is neither a byte tokenizer description ("type": "${BYTE_TOKENIZER_TYPE}") nor a Hugging Face tokenizer.json (a "model" section); found ${seen} and no "model"`,
    { source },
  );
}

/** Loads the tokenizer of the model in `dir` from `dir/tokenizer.json` (and `dir/tokenizer_config.json` for HF). */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const source = join(dir, TOKENIZER_FILE_NAME);
  const description = await readJsonFile(source);
  if (description["type"] === BYTE_TOKENIZER_TYPE || !("model" in description)) {
    return tokenizerFromDescription(description, { source });
  }
  const configSource = join(dir, TOKENIZER_CONFIG_FILE_NAME);
  const tokenizerConfig = await readJsonFile(configSource, { optional: true });
  return tokenizerFromDescription(description, { source, tokenizerConfig, configSource });
}

/**
 * Writes `dir/tokenizer.json` for a byte tokenizer in the old private format
 * (2-space JSON, trailing newline) and returns its path; kept for tests of
 * old model dirs, `model make` writes `writeByteTokenizerHfFiles`. A Hugging Face tokenizer needs no such file:
 * its own tokenizer.json already is one.
 */
export async function writeTokenizerDescription(dir: string, tokenizer: ByteTokenizer): Promise<string> {
  const path = join(dir, TOKENIZER_FILE_NAME);
  try {
    await writeFile(path, `${JSON.stringify(tokenizer.describe(), null, 2)}\n`, "utf8");
  } catch (error) {
    throw new TokenizerError(`cannot be written (${(error as Error).message})`, { source: path, cause: error });
  }
  return path;
}

/**
 * Writes the byte tokenizer as standard Hugging Face files,
 * `dir/tokenizer.json` and `dir/tokenizer_config.json` (with the demo chat
 * template), and returns their paths. Deterministic: the same bytes every time.
 */
export async function writeByteTokenizerHfFiles(dir: string): Promise<{ tokenizer: string; config: string }> {
  const tokenizer = join(dir, TOKENIZER_FILE_NAME);
  const config = join(dir, TOKENIZER_CONFIG_FILE_NAME);
  for (const [path, text] of [
    [tokenizer, byteTokenizerHfJsonText()],
    [config, `${JSON.stringify(byteTokenizerHfConfig(), null, 2)}\n`],
  ] as const) {
    try {
      await writeFile(path, text, "utf8");
    } catch (error) {
      throw new TokenizerError(`cannot be written (${(error as Error).message})`, { source: path, cause: error });
    }
  }
  return { tokenizer, config };
}

/** Checks every field of a byte description against version 1, naming the first field that differs. */
function checkByteDescription(description: Record<string, unknown>, source: string): void {
  if (description["version"] !== BYTE_TOKENIZER_VERSION) {
    throw new TokenizerError(
      `"version" must be ${BYTE_TOKENIZER_VERSION} for "type": "${BYTE_TOKENIZER_TYPE}", got ${JSON.stringify(description["version"])}`,
      { source },
    );
  }
  const expected = new ByteTokenizer().describe();
  for (const field of ["vocab_size", "bos_token_id", "eos_token_id", "pad_token_id"] as const) {
    if (description[field] !== expected[field]) {
      throw new TokenizerError(
        `"${field}" must be ${expected[field]} for "type": "${BYTE_TOKENIZER_TYPE}" version ${BYTE_TOKENIZER_VERSION}, got ${JSON.stringify(description[field])}`,
        { source },
      );
    }
  }
}
