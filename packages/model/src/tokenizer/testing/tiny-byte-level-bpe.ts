/**
 * Test fixture: a GPT-2-style byte-level BPE tokenizer.json small enough to
 * read. Ids 0..255 are the single bytes (id = byte value, unlike GPT-2, so
 * that tests can spell bytes directly), then a handful of merges, then three
 * special added tokens. A tokenizer_config.json names them as BOS/EOS/PAD.
 * Built by hand so the tests need no download.
 */

/**
 * GPT-2's reversible byte → printable character map: printable Latin-1
 * bytes map to themselves, the rest to U+0100 upwards (space is "Ġ").
 */
export function byteLevelAlphabet(): string[] {
  const printable = (byte: number): boolean =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const chars: string[] = [];
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) chars.push(String.fromCodePoint(printable(byte) ? byte : next++));
  return chars;
}

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

function addedToken(id: number, content: string): object {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** The tokenizer.json object; a TemplateProcessing post-processor prepends <s> when asked to. */
export function tinyByteLevelBpeJson(): Record<string, unknown> {
  const alphabet = byteLevelAlphabet();
  const vocab: Record<string, number> = {};
  alphabet.forEach((char, byte) => (vocab[char] = byte));
  TINY_MERGES.forEach(([left, right], rank) => (vocab[left + right] = 256 + rank));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken(TINY_BOS_ID, "<s>"), addedToken(TINY_EOS_ID, "</s>"), addedToken(TINY_PAD_ID, "<pad>")],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [TINY_BOS_ID], tokens: ["<s>"] } },
    },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: TINY_MERGES.map(([left, right]) => `${left} ${right}`),
    },
  };
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
