/**
 * Typed errors of the tokenizer layer. Each failure has one small class that
 * sets `name` (so it survives `instanceof`-less checks and shows in logs) and
 * takes `{ cause }`. Loading problems are `TokenizerError`s that name the file
 * and the field; decoding an id outside the vocabulary is an
 * `InvalidTokenIdError`, which is a bug in the caller (the sampler must never
 * produce such an id), so it throws rather than returning a value.
 */

/** A tokenizer could not be loaded, described or built. */
export class TokenizerError extends Error {
  override readonly name: string = "TokenizerError";
  /** The file (or a label for an in-memory value) the problem was found in; undefined when there is none. */
  readonly source: string | undefined;

  constructor(message: string, options: { source?: string; cause?: unknown } = {}) {
    super(options.source === undefined ? message : `${options.source}: ${message}`, { cause: options.cause });
    this.source = options.source;
  }
}

/** A token id given to decode() or a detokenizer is not in the tokenizer's vocabulary. */
export class InvalidTokenIdError extends TokenizerError {
  override readonly name: string = "InvalidTokenIdError";
  /** The offending value exactly as it was given (it may not even be an integer). */
  readonly tokenId: number;
  /** The vocabulary size of the tokenizer that rejected it; valid ids lie in [0, vocabSize). */
  readonly vocabSize: number;

  constructor(tokenId: number, vocabSize: number, options: { cause?: unknown } = {}) {
    super(`token id ${tokenId} is not in the vocabulary (size ${vocabSize})`, { cause: options.cause });
    this.tokenId = tokenId;
    this.vocabSize = vocabSize;
  }
}
