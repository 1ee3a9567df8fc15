/**
 * The `Tokenizer` the router and the worker share. Text goes in as a string
 * and comes out as token ids; ids go back to text either in one shot
 * (`decode`) or streamed (`createDetokenizer`), and the two always agree: the
 * concatenated stream equals the one-shot decode of all ids. Two kinds exist:
 * `byte` (the demo model's 259-token byte vocabulary) and `hf` (a Hugging Face
 * `tokenizer.json`). Both are synchronous and do no I/O after loading.
 */
import type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import type { TokenizerDescription } from "./tokenizer-description.js";

/** Options of `Tokenizer.encode`. */
export interface EncodeOptions {
  /**
   * Add the tokenizer's special tokens (BOS) around the text. Default false:
   * prompts usually come from a chat template that already holds them.
   */
  readonly addSpecialTokens?: boolean;
}

/** Options of `Tokenizer.decode` and `Tokenizer.createDetokenizer`. */
export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, PAD, ...) from the text. Default true. */
  readonly skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** `byte`: the built-in byte tokenizer; `hf`: a Hugging Face tokenizer.json. */
  readonly kind: "byte" | "hf";
  /** Number of token ids; every id lies in [0, vocabSize). */
  readonly vocabSize: number;
  /** Beginning-of-sequence id; undefined when the tokenizer has none. */
  readonly bosTokenId: number | undefined;
  /** End-of-sequence id (generation stops on it); undefined when the tokenizer has none. */
  readonly eosTokenId: number | undefined;
  /** Padding id; undefined when the tokenizer has none. */
  readonly padTokenId: number | undefined;
  /**
   * The most UTF-8 bytes of text one token can stand for (the longest vocabulary entry or added token).
   * A text of B bytes needs at least B / maxTokenBytes tokens, so a prompt too long for a context can be
   * refused before it is tokenized. NOTE: a normalizer that deletes characters could make a text need
   * fewer tokens than that; such text is refused as if it were too long.
   */
  readonly maxTokenBytes: number;

  /** Token ids of `text`. */
  encode(text: string, options?: EncodeOptions): number[];

  /**
   * Text of `ids`. Byte sequences that are not valid UTF-8 become U+FFFD
   * (WHATWG decoder semantics). Throws `InvalidTokenIdError` for an id
   * outside the vocabulary.
   */
  decode(ids: readonly number[], options?: DecodeOptions): string;

  /** A fresh streaming decoder whose output, concatenated, equals `decode(allIds, options)`. */
  createDetokenizer(options?: DecodeOptions): IncrementalDetokenizer;

  /** A JSON-serialisable description of this tokenizer (see tokenizer-description.ts). */
  describe(): TokenizerDescription;
}
