/**
 * Tokenizing a prompt with its size bounded first. Tokenizing is the
 * router's costliest step per byte and it runs on the event loop: a 3.9 MB
 * prompt took 2.8 s to be refused and stalled every other stream for 2.1 s
 * (issue 15). A text of B bytes needs at least B / maxTokenBytes tokens, so
 * one longer than the context times maxTokenBytes cannot fit and is refused
 * by its length alone, in microseconds, naming the field.
 */
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import { InvalidRequestError } from "../errors.js";
import type { ModelLimits } from "./validate-request.js";

/** The most UTF-8 bytes a prompt of the model may have to be worth tokenizing; Infinity when the context is unknown. */
export function maxPromptBytes(tokenizer: Pick<Tokenizer, "maxTokenBytes">, limits: Pick<ModelLimits, "maxContextTokens">): number {
  return limits.maxContextTokens > 0 ? limits.maxContextTokens * tokenizer.maxTokenBytes : Infinity;
}

/** Throws InvalidRequestError on `field` when `text` is too long to fit the context whatever its tokens. */
export function checkPromptBytes(text: string, tokenizer: Pick<Tokenizer, "maxTokenBytes">, limits: Pick<ModelLimits, "maxContextTokens">, field: string): void {
  const limit = maxPromptBytes(tokenizer, limits);
  // NOTE: a UTF-16 string has at most 3 UTF-8 bytes per code unit and at least 1: most texts are settled without counting.
  if (text.length <= limit / 3) return;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= limit) return;
  throw InvalidRequestError.of(field, `${bytes} bytes cannot fit the context of ${limits.maxContextTokens} tokens (one token stands for at most ${tokenizer.maxTokenBytes} bytes, so at most ${limit} bytes can)`);
}

/** `tokenizer.encode(text)`, after checkPromptBytes. */
export function encodePrompt(tokenizer: Tokenizer, text: string, limits: Pick<ModelLimits, "maxContextTokens">, field: string, options: { addSpecialTokens: boolean }): number[] {
  checkPromptBytes(text, tokenizer, limits, field);
  return tokenizer.encode(text, options);
}
