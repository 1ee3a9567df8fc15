/**
 * Test fixture: a GPT-2-style byte-level BPE tokenizer.json small enough to
 * read. Ids 0..255 are the single bytes (id = byte value, unlike GPT-2, so
 * that tests can spell bytes directly), then a handful of merges, then three
 * special added tokens. A tokenizer_config.json names them as BOS/EOS/PAD.
 * Built by hand so the tests need no download.
 */

import { byteLevelAlphabet, byteLevelBpeTokenizerJson } from "../byte-tokenizer-hf-files.js";

// Tests that spell bytes as characters use the same alphabet the files are built with.
export { byteLevelAlphabet };

/** Merged tokens, in merge-rank order; their ids follow the 256 bytes. */
export const TINY_MERGES: readonly (readonly [string, string])[] = [
  ["h", "e"], // 256 "he"
  ["l", "l"], // 257 "ll"
  ["he", "ll"], // 258 "hell"
  ["hell", "o"], // 259 "hello"
  ["Ġ", "w"], // 260 "Ġw"
  ["Ġw", "o"], // 261 "Ġwo"
  ["Ã", "©"], // 262 "Ã©" = "é" (C3 A9)
];

export const TINY_BOS_ID = 263;
export const TINY_EOS_ID = 264;
export const TINY_PAD_ID = 265;
export const TINY_VOCAB_SIZE = 266;

/** The tokenizer.json object; a TemplateProcessing post-processor prepends <s> when asked to. */
export function tinyByteLevelBpeJson(): Record<string, unknown> {
  return byteLevelBpeTokenizerJson({
    merged: TINY_MERGES.map(([left, right]) => left + right),
    merges: TINY_MERGES.map(([left, right]) => `${left} ${right}`),
    specials: [
      { id: TINY_BOS_ID, content: "<s>" },
      { id: TINY_EOS_ID, content: "</s>" },
      { id: TINY_PAD_ID, content: "<pad>" },
    ],
    bos: { id: TINY_BOS_ID, content: "<s>" },
  });
}

/** tokenizer_config.json; bos_token in the older AddedToken-object form to exercise both forms. */
export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    bos_token: { __type: "AddedToken", content: "<s>", lstrip: false, normalized: false, rstrip: false, single_word: false },
    eos_token: "</s>",
    pad_token: "<pad>",
    clean_up_tokenization_spaces: true,
  };
}
