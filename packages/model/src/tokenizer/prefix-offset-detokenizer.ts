/**
 * Streaming decode for tokenizers that can only decode whole id sequences
 * (Hugging Face tokenizers), by the "prefix offset / read offset" window of
 * vLLM and TGI. The window holds the ids from `prefixOffset` on; the ids
 * before `readOffset` are already emitted and serve as context. Each push
 * decodes the window and the context alone, and emits the difference, but
 * only when the window's text does not end in U+FFFD: a trailing U+FFFD most
 * likely means a character whose bytes are split across tokens, so the ids
 * wait for the next push. After an emission the window slides: the ids just
 * emitted become the new context. Decoding from a context token rather than
 * from the new ids alone is what keeps decoders that treat the first token
 * specially (Metaspace drops its leading space) correct.
 *
 * The invariant (push outputs + flush === decode(all ids)) holds whenever the
 * decode of a sequence that does not end in U+FFFD is a prefix of the decode
 * of any extension of it, which is true of byte-level BPE, Metaspace,
 * WordPiece and byte-fallback decoders, but not of text clean-up passes that
 * rewrite across token boundaries (see hf-tokenizer.ts).
 *
 * NOTE: ids whose text keeps ending in U+FFFD (a model emitting invalid bytes,
 * or a literal U+FFFD token) are held, and the growing window is decoded again
 * on every push, until some id ends the text cleanly or flush() is called.
 * vLLM and TGI accept the same; emitting early would break the invariant,
 * since skipped special ids may sit between the bytes of one character.
 */
import type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import { REPLACEMENT_CHARACTER } from "./utf8.js";

/** Decodes a whole id sequence; throws for an id outside the vocabulary. */
export type DecodeIds = (ids: readonly number[]) => string;

export class PrefixOffsetDetokenizer implements IncrementalDetokenizer {
  readonly #decode: DecodeIds;
  /** Ids from prefixOffset on; older ids are never decoded again, so they are dropped. */
  #window: number[] = [];
  /** Index in #window of the first id whose text has not been emitted. */
  #readIndex = 0;
  /** decode(#window[0, #readIndex)), cached because it changes only when the window slides. */
  #contextText = "";

  constructor(decode: DecodeIds) {
    this.#decode = decode;
  }

  push(ids: readonly number[]): string {
    if (ids.length === 0) return "";
    const windowLength = this.#window.length;
    for (const id of ids) this.#window.push(id);
    try {
      return this.#advance(false);
    } catch (error) {
      // Leave the stream as it was before this push (the decode rejected an id).
      this.#window.length = windowLength;
      throw error;
    }
  }

  flush(): string {
    const rest = this.#window.length > this.#readIndex ? this.#advance(true) : "";
    this.#window = [];
    this.#readIndex = 0;
    this.#contextText = "";
    return rest;
  }

  #advance(final: boolean): string {
    const text = this.#decode(this.#window);
    if (!final && (text.length <= this.#contextText.length || text.endsWith(REPLACEMENT_CHARACTER))) {
      // Nothing new (e.g. a skipped special token), or a character still incomplete.
      return "";
    }
    const newText = text.slice(this.#contextText.length);
    // Slide: the ids just emitted become the context of the next window.
    this.#window = this.#window.slice(this.#readIndex);
    this.#readIndex = this.#window.length;
    this.#contextText = this.#decode(this.#window);
    return newText;
  }
}
