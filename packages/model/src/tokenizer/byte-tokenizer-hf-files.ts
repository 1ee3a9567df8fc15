/**
 * The demo model's byte tokenizer as standard Hugging Face files, so that HF
 * tools (transformers, `tokenizers`, `@huggingface/tokenizers`) load what
 * `model make` writes and get the same ids as `ByteTokenizer`.
 *
 * tokenizer.json is a byte-level BPE with no merges: the ByteLevel
 * pre-tokenizer turns each byte into one printable character (GPT-2's map,
 * `byteLevelAlphabet`), and the vocabulary gives that character the byte's
 * own value as id. So encode(text) is one id per UTF-8 byte, id = byte, as
 * `ByteTokenizer.encode`. BOS/EOS/PAD are added tokens 256/257/258 with
 * their marker texts as content ("<|bos|>", ...), and a TemplateProcessing
 * post-processor prepends BOS when special tokens are added, as
 * `ByteTokenizer` does. tokenizer_config.json names the three and carries
 * the demo chat template.
 *
 * NOTE: the one difference: HF tokenizers match added tokens inside text, so
 * a literal "<|bos|>" in a prompt is id 256 there but seven bytes for
 * `ByteTokenizer`. sigmaserve itself reads these files back as the
 * `ByteTokenizer` (`isByteTokenizerHfJson`), so its ids never change.
 */
import {
  BYTE_BOS_TOKEN_ID,
  BYTE_EOS_TOKEN_ID,
  BYTE_PAD_TOKEN_ID,
  BYTE_SPECIAL_TOKEN_MARKERS,
  BYTE_TOKEN_COUNT,
} from "./byte-tokenizer.js";
import { DEMO_CHAT_TEMPLATE } from "./demo-chat-template.js";

/** GPT-2's reversible byte → printable character map (space is "Ġ"). */
export function byteLevelAlphabet(): string[] {
  const printable = (byte: number): boolean =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const chars: string[] = [];
  let next = 0x100;
  for (let byte = 0; byte < BYTE_TOKEN_COUNT; byte++) chars.push(String.fromCodePoint(printable(byte) ? byte : next++));
  return chars;
}

const marker = (id: number): string => BYTE_SPECIAL_TOKEN_MARKERS.get(id) as string;

/** What differs between byte-level BPE tokenizer.json files: everything else is the GPT-2 byte-level layout. */
export interface ByteLevelBpeSpec {
  /** Tokens after the 256 byte tokens, with ids 256, 257, ... (each a merge's result). */
  merged: readonly string[];
  /** The merges, "left right", by rank. */
  merges: readonly string[];
  /** Special (added) tokens. */
  specials: readonly { id: number; content: string }[];
  /** The special token the post-processor prepends. */
  bos: { id: number; content: string };
  /** Whether a pair's second sequence gets its own BOS too (Llama 3's template). */
  bosBeforeSecond?: boolean;
  ignoreMerges?: boolean;
}

/** A byte-level BPE tokenizer.json object (HF `tokenizers` format) with a BOS-prepending post-processor. */
export function byteLevelBpeTokenizerJson(spec: ByteLevelBpeSpec): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet().forEach((char, byte) => (vocab[char] = byte));
  spec.merged.forEach((token, i) => (vocab[token] = BYTE_TOKEN_COUNT + i));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const bos = spec.bos.content;
  const second = spec.bosBeforeSecond === true ? [{ SpecialToken: { id: bos, type_id: 1 } }] : [];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: spec.specials.map(({ id, content }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, ...second, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [spec.bos.id], tokens: [bos] } },
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
      ignore_merges: spec.ignoreMerges === true,
      vocab,
      merges: [...spec.merges],
    },
  };
}

/** The tokenizer.json object of the byte tokenizer: no merges, so ids are the bytes. */
export function byteTokenizerHfJson(): Record<string, unknown> {
  const special = (id: number) => ({ id, content: marker(id) });
  return byteLevelBpeTokenizerJson({ merged: [], merges: [], specials: [special(BYTE_BOS_TOKEN_ID), special(BYTE_EOS_TOKEN_ID), special(BYTE_PAD_TOKEN_ID)], bos: special(BYTE_BOS_TOKEN_ID) });
}

/** The tokenizer_config.json object: special tokens and the demo chat template. */
export function byteTokenizerHfConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: marker(BYTE_BOS_TOKEN_ID),
    eos_token: marker(BYTE_EOS_TOKEN_ID),
    pad_token: marker(BYTE_PAD_TOKEN_ID),
    add_bos_token: true,
    clean_up_tokenization_spaces: false,
    model_max_length: 1_000_000_000,
    chat_template: DEMO_CHAT_TEMPLATE,
  };
}

/** The exact text `model make` writes for `byteTokenizerHfJson()`. */
export function byteTokenizerHfJsonText(): string {
  return `${JSON.stringify(byteTokenizerHfJson(), null, 2)}\n`;
}

/**
 * Whether a parsed tokenizer.json is the byte tokenizer's (as written by
 * `model make`): compared as canonical JSON, so a file someone edited is
 * loaded as the HF tokenizer it now is.
 */
export function isByteTokenizerHfJson(description: unknown): boolean {
  return JSON.stringify(description) === JSON.stringify(byteTokenizerHfJson());
}
