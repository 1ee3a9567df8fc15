import * as assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { TokenizerError } from "./errors.js";
import { HfTokenizer } from "./hf-tokenizer.js";
import { loadTokenizer, tokenizerFromDescription, writeTokenizerDescription } from "./load-tokenizer.js";
import { TINY_EOS_ID, tinyByteLevelBpeJson, tinyTokenizerConfig } from "./testing/tiny-byte-level-bpe.js";

const BYTE_DESCRIPTION = {
  type: "sigmaserve-byte",
  version: 1,
  vocab_size: 259,
  bos_token_id: 256,
  eos_token_id: 257,
  pad_token_id: 258,
};

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-load-tokenizer-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("tokenizer - writes the byte description and loads it back", async (t) => {
  const dir = await tempDir(t);
  const path = await writeTokenizerDescription(dir, new ByteTokenizer());
  assert.equal(path, join(dir, "tokenizer.json"));
  assert.equal(
    await readFile(path, "utf8"),
    '{\n  "type": "sigmaserve-byte",\n  "version": 1,\n  "vocab_size": 259,\n  "bos_token_id": 256,\n  "eos_token_id": 257,\n  "pad_token_id": 258\n}\n',
  );
  const loaded = await loadTokenizer(dir);
  assert.ok(loaded instanceof ByteTokenizer);
  assert.deepEqual(loaded.encode("é"), [0xc3, 0xa9]);
});

test("tokenizer - loads a Hugging Face tokenizer.json with its config", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tinyByteLevelBpeJson()));
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(tinyTokenizerConfig()));
  const loaded = await loadTokenizer(dir);
  assert.ok(loaded instanceof HfTokenizer);
  assert.equal(loaded.kind, "hf");
  assert.equal(loaded.eosTokenId, TINY_EOS_ID);
  assert.deepEqual(loaded.encode("hello"), [259]);
});

test("tokenizer - builds tokenizers from in-memory descriptions", () => {
  assert.ok(tokenizerFromDescription(BYTE_DESCRIPTION) instanceof ByteTokenizer);
  const hf = tokenizerFromDescription(tinyByteLevelBpeJson(), { tokenizerConfig: tinyTokenizerConfig() });
  assert.equal(hf.eosTokenId, TINY_EOS_ID);
});

test("tokenizer - a missing tokenizer.json is an error naming the file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "tokenizer.json");
  await assert.rejects(loadTokenizer(dir), (error: unknown) => {
    assert.ok(error instanceof TokenizerError);
    assert.equal(error.name, "TokenizerError");
    assert.equal(error.source, path);
    assert.equal(error.message, `${path}: not found`);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
    return true;
  });
});

test("tokenizer - a tokenizer.json that is not JSON or not an object is an error", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "tokenizer.json");
  await writeFile(path, "{ nope");
  await assert.rejects(loadTokenizer(dir), (error: unknown) =>
    error instanceof TokenizerError && error.message.startsWith(`${path}: is not valid JSON (`),
  );
  await writeFile(path, "[1, 2]");
  await assert.rejects(loadTokenizer(dir), { name: "TokenizerError", message: `${path}: must hold a JSON object` });
});

test("tokenizer - a description of no known kind says what it found", () => {
  assert.throws(() => tokenizerFromDescription({ type: "sentencepiece" }), {
    name: "TokenizerError",
    message:
      'tokenizer.json: is neither a byte tokenizer description ("type": "sigmaserve-byte") nor a Hugging Face tokenizer.json (a "model" section); found "type": "sentencepiece" and no "model"',
  });
  assert.throws(() => tokenizerFromDescription({}, { source: "models/x/tokenizer.json" }), {
    message:
      'models/x/tokenizer.json: is neither a byte tokenizer description ("type": "sigmaserve-byte") nor a Hugging Face tokenizer.json (a "model" section); found no "type" and no "model"',
  });
  assert.throws(() => tokenizerFromDescription(null), { message: "tokenizer.json: must hold a JSON object" });
});

test("tokenizer - a byte description that disagrees with version 1 names the field", () => {
  assert.throws(() => tokenizerFromDescription({ ...BYTE_DESCRIPTION, version: 2 }), {
    name: "TokenizerError",
    message: 'tokenizer.json: "version" must be 1 for "type": "sigmaserve-byte", got 2',
  });
  assert.throws(() => tokenizerFromDescription({ ...BYTE_DESCRIPTION, vocab_size: 300 }), {
    message: 'tokenizer.json: "vocab_size" must be 259 for "type": "sigmaserve-byte" version 1, got 300',
  });
  const { eos_token_id: _eos, ...withoutEos } = BYTE_DESCRIPTION;
  assert.throws(() => tokenizerFromDescription(withoutEos), {
    message: 'tokenizer.json: "eos_token_id" must be 257 for "type": "sigmaserve-byte" version 1, got undefined',
  });
});

test("tokenizer - a Hugging Face summary cannot be loaded back", () => {
  const summary = HfTokenizer.fromJson(tinyByteLevelBpeJson()).describe();
  assert.throws(() => tokenizerFromDescription(summary), {
    name: "TokenizerError",
    message:
      'tokenizer.json: is a summary of a Hugging Face tokenizer ("type": "huggingface"), which cannot be loaded; put the model\'s own tokenizer.json here',
  });
});
