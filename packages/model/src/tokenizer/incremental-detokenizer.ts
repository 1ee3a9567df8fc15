/**
 * Streaming detokenization. A generation produces ids a few at a time; the
 * detokenizer turns each batch into the text that has become final and holds
 * back what is not yet known, such as the first byte of a character whose
 * remaining bytes are still to come. The one invariant, for every id sequence
 * and every way of cutting it into `push()` calls:
 *
 *     push(c1) + push(c2) + ... + flush() === tokenizer.decode(c1 ++ c2 ++ ..., options)
 *
 * so the streamed text and the final text never disagree. Two implementations:
 * `Utf8StreamDetokenizer` (byte tokenizer, exact byte-level streaming) and
 * `PrefixOffsetDetokenizer` (Hugging Face tokenizers, the vLLM/TGI window).
 */
export interface IncrementalDetokenizer {
  /**
   * Feeds the next ids and returns the text they completed (possibly "").
   * Throws `InvalidTokenIdError` for an id outside the vocabulary, in which
   * case none of `ids` is taken and the stream stays as it was.
   */
  push(ids: readonly number[]): string;

  /**
   * Ends the stream and returns everything still held back, with incomplete
   * byte sequences as U+FFFD exactly as a one-shot decode renders them. The
   * detokenizer is then empty and may start a new stream.
   */
  flush(): string;
}
