/**
 * Issue 15, defect 2: an oversized prompt is refused by its length, before
 * the tokenizer sees it (tokenizing 3.9 MB stalled every stream for 2 s).
 * The oracle for "before" is a tokenizer that counts its calls.
 */
import { ByteTokenizer, type Tokenizer } from "@sigmaserve/model/tokenizer";
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRequestError } from "../errors.js";
import { encodePrompt, maxPromptBytes } from "./encode-prompt.js";

/** The byte tokenizer, counting the texts it was asked to encode. */
function countingTokenizer(): { tokenizer: Tokenizer; encoded: () => number } {
  const inner = new ByteTokenizer();
  let calls = 0;
  const tokenizer = Object.assign(Object.create(inner) as Tokenizer, {
    encode: (text: string, options?: { addSpecialTokens?: boolean }) => {
      calls++;
      return inner.encode(text, options);
    },
  });
  return { tokenizer, encoded: () => calls };
}

const limits = { maxContextTokens: 2048 };

test("encode prompt - a text longer than the context times the longest token is refused without tokenizing, naming the field", () => {
  const { tokenizer, encoded } = countingTokenizer();
  assert.equal(maxPromptBytes(tokenizer, limits), 2048);
  assert.throws(
    () => encodePrompt(tokenizer, "x".repeat(4 * 2 ** 20), limits, "text", { addSpecialTokens: true }),
    (err: unknown) =>
      err instanceof InvalidRequestError &&
      err.violations[0]!.field === "text" &&
      err.message === "text: 4194304 bytes cannot fit the context of 2048 tokens (one token stands for at most 1 bytes, so at most 2048 bytes can)",
  );
  assert.equal(encoded(), 0);
});

test("encode prompt - bytes, not characters, are counted: 683 euro signs are 2049 bytes", () => {
  const { tokenizer, encoded } = countingTokenizer();
  assert.throws(() => encodePrompt(tokenizer, "€".repeat(683), limits, "prompt", { addSpecialTokens: false }), /2049 bytes cannot fit/);
  assert.deepEqual(encodePrompt(tokenizer, "€".repeat(682), limits, "prompt", { addSpecialTokens: false }).length, 2046);
  assert.equal(encoded(), 1);
});

test("encode prompt - at the bound the text is tokenized (the context check that follows is exact); an unknown context bounds nothing", () => {
  const { tokenizer } = countingTokenizer();
  assert.equal(encodePrompt(tokenizer, "y".repeat(2048), limits, "text", { addSpecialTokens: false }).length, 2048);
  assert.equal(maxPromptBytes(tokenizer, { maxContextTokens: 0 }), Infinity);
  assert.equal(encodePrompt(tokenizer, "z".repeat(5000), { maxContextTokens: 0 }, "text", { addSpecialTokens: false }).length, 5000);
});
