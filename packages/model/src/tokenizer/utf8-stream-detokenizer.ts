/**
 * Streaming decode for tokenizers whose ids map to raw bytes (the byte
 * tokenizer). Ids become bytes, and the bytes go through one WHATWG
 * `TextDecoder` in `{ stream: true }` mode, which by specification produces
 * exactly the one-shot text when its output is concatenated: it holds the
 * bytes of an unfinished character, and emits U+FFFD the moment a sequence
 * can no longer complete (e.g. 0xC3 followed by "a" gives "\uFFFDa" at once).
 */
import type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import { newUtf8Decoder } from "./utf8.js";

/** Maps ids to the bytes they stand for; throws for an id outside the vocabulary. */
export type IdsToBytes = (ids: readonly number[]) => Uint8Array;

export class Utf8StreamDetokenizer implements IncrementalDetokenizer {
  readonly #idsToBytes: IdsToBytes;
  #decoder = newUtf8Decoder();

  constructor(idsToBytes: IdsToBytes) {
    this.#idsToBytes = idsToBytes;
  }

  push(ids: readonly number[]): string {
    // NOTE: idsToBytes validates every id before the decoder sees a byte, so a
    // rejected push leaves the stream untouched.
    const bytes = this.#idsToBytes(ids);
    return this.#decoder.decode(bytes, { stream: true });
  }

  flush(): string {
    // A non-streaming decode() call ends the stream and resets the decoder.
    return this.#decoder.decode();
  }
}
