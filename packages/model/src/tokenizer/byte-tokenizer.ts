/**
 * The byte tokenizer of the demo model sigma-tiny. Ids 0..255 are the byte
 * of the same value, so any byte sequence, valid UTF-8 or not, is a token
 * sequence and back (`encodeBytes` and `decodeToBytes` are exact inverses).
 * Three special ids follow: BOS=256, EOS=257, PAD=258, for a vocabulary of 259.
 *
 * Text is the UTF-8 of a string. Every well-formed string round-trips:
 * `decode(encode(s)) === s`. A string holding a lone surrogate is not
 * well-formed UTF-16 and has no UTF-8; `TextEncoder` writes U+FFFD for each
 * one, so it comes back with U+FFFD in its place (`s.toWellFormed()`). The
 * other way, byte sequences that are not UTF-8 decode to U+FFFD per the
 * WHATWG decoder, so `decode` is lossy where `decodeToBytes` is not.
 *
 * Special ids decode to "" by default (`skipSpecialTokens: true`) and to the
 * markers "<|bos|>", "<|eos|>", "<|pad|>" otherwise. A marker is spliced into
 * the byte stream as its own UTF-8, so it also ends any character that was
 * still open before it (0xC3, BOS, 0xA9 gives "\uFFFD<|bos|>\uFFFD").
 */
import { InvalidTokenIdError } from "./errors.js";
import type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "./tokenizer.js";
import { BYTE_TOKENIZER_TYPE, BYTE_TOKENIZER_VERSION, type ByteTokenizerDescription } from "./tokenizer-description.js";
import { UTF8_ENCODER, newUtf8Decoder } from "./utf8.js";
import { Utf8StreamDetokenizer } from "./utf8-stream-detokenizer.js";

/** Number of byte tokens; byte b has id b. */
export const BYTE_TOKEN_COUNT = 256;
export const BYTE_BOS_TOKEN_ID = 256;
export const BYTE_EOS_TOKEN_ID = 257;
export const BYTE_PAD_TOKEN_ID = 258;
/** 256 bytes + BOS + EOS + PAD. */
export const BYTE_VOCAB_SIZE = 259;

/** The text a special id decodes to when special tokens are not skipped. */
export const BYTE_SPECIAL_TOKEN_MARKERS: ReadonlyMap<number, string> = new Map([
  [BYTE_BOS_TOKEN_ID, "<|bos|>"],
  [BYTE_EOS_TOKEN_ID, "<|eos|>"],
  [BYTE_PAD_TOKEN_ID, "<|pad|>"],
]);

/** Markers as UTF-8, computed once. */
const MARKER_BYTES: ReadonlyMap<number, Uint8Array> = new Map(
  [...BYTE_SPECIAL_TOKEN_MARKERS].map(([id, marker]) => [id, UTF8_ENCODER.encode(marker)]),
);

export class ByteTokenizer implements Tokenizer {
  readonly kind = "byte";
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly bosTokenId = BYTE_BOS_TOKEN_ID;
  readonly eosTokenId = BYTE_EOS_TOKEN_ID;
  readonly padTokenId = BYTE_PAD_TOKEN_ID;
  /** One token per byte; the special ids stand for no text of the prompt. */
  readonly maxTokenBytes = 1;
  /** For one-shot decodes only: a non-streaming decode() leaves no state behind. */
  readonly #decoder = newUtf8Decoder();

  /** UTF-8 bytes of `text` (lone surrogates become U+FFFD), with BOS first when asked. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeBytes(UTF8_ENCODER.encode(text), options);
  }

  /** One id per byte (id = byte value), with BOS first when asked. */
  encodeBytes(bytes: Uint8Array, options: EncodeOptions = {}): number[] {
    const ids = options.addSpecialTokens === true ? [BYTE_BOS_TOKEN_ID] : [];
    for (const byte of bytes) ids.push(byte);
    return ids;
  }

  /**
   * The bytes of `ids`: the inverse of `encodeBytes`. Special ids are dropped
   * (default) or become their marker's UTF-8. Throws `InvalidTokenIdError`
   * for an id outside [0, 259) or a non-integer, before producing anything.
   */
  decodeToBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    const skipSpecialTokens = options.skipSpecialTokens ?? true;
    let length = 0;
    for (const id of ids) {
      if (Number.isInteger(id) && id >= 0 && id < BYTE_TOKEN_COUNT) length += 1;
      else {
        const marker = MARKER_BYTES.get(id);
        if (marker === undefined) throw new InvalidTokenIdError(id, BYTE_VOCAB_SIZE);
        if (!skipSpecialTokens) length += marker.length;
      }
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const id of ids) {
      if (id < BYTE_TOKEN_COUNT) bytes[offset++] = id;
      else if (!skipSpecialTokens) {
        // Validated above: every id that is not a byte has a marker.
        const marker = MARKER_BYTES.get(id) as Uint8Array;
        bytes.set(marker, offset);
        offset += marker.length;
      }
    }
    return bytes;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.#decoder.decode(this.decodeToBytes(ids, options));
  }

  createDetokenizer(options: DecodeOptions = {}): IncrementalDetokenizer {
    return new Utf8StreamDetokenizer((ids) => this.decodeToBytes(ids, options));
  }

  describe(): ByteTokenizerDescription {
    return {
      type: BYTE_TOKENIZER_TYPE,
      version: BYTE_TOKENIZER_VERSION,
      vocab_size: BYTE_VOCAB_SIZE,
      bos_token_id: BYTE_BOS_TOKEN_ID,
      eos_token_id: BYTE_EOS_TOKEN_ID,
      pad_token_id: BYTE_PAD_TOKEN_ID,
    };
  }
}
