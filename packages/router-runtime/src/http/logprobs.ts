/**
 * Log probabilities in OpenAI's two shapes, from the worker's TokenLogprob
 * entries (one per generated token: the chosen token's logprob and its top
 * alternatives):
 *
 * - completions (legacy): `{tokens, token_logprobs, top_logprobs: [{token: lp}], text_offset}`,
 * - chat: `{content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}`.
 *
 * A token's text is its one-token decode. A byte token that is part of a
 * multi-byte character has no text of its own and is written `bytes:\xNN`,
 * as OpenAI does; `bytes` (chat) holds its real bytes. `text_offset` is the
 * character offset in the completion text where the token's text begins,
 * computed by streaming the ids through the tokenizer's detokenizer, so it
 * agrees with the text the client receives.
 *
 * With `echo` (completions), the prompt's entries (GenerateFinish's
 * prompt_logprobs) come first, through the same builder, so the offsets run
 * on from the prompt's text into the completion's. The first prompt token
 * has nothing before it: its logprob and top_logprobs are null, as in
 * OpenAI's and vLLM's echo.
 */
import type { IncrementalDetokenizer, Tokenizer } from "@sigmaserve/model/tokenizer";
import type { inferencev1 } from "@sigmaserve/proto";

/** Byte ids of the byte tokenizer; ids >= 0x80 are pieces of multi-byte characters. */
const BYTE_TOKENS = 256;
const FIRST_NON_ASCII_BYTE = 0x80;
const UTF8 = new TextEncoder();

/** The text of one token, for display. */
export function tokenText(tokenizer: Tokenizer | undefined, id: number): string {
  if (tokenizer === undefined) return `token_id:${id}`;
  if (tokenizer.kind === "byte" && id >= FIRST_NON_ASCII_BYTE && id < BYTE_TOKENS) return `bytes:\\x${id.toString(16).padStart(2, "0")}`;
  try {
    return tokenizer.decode([id], { skipSpecialTokens: false });
  } catch {
    return `token_id:${id}`;
  }
}

/** The UTF-8 bytes of one token (chat's `bytes`). */
export function tokenBytes(tokenizer: Tokenizer | undefined, id: number): number[] {
  if (tokenizer?.kind === "byte" && id < BYTE_TOKENS) return [id];
  return [...UTF8.encode(tokenText(tokenizer, id))];
}

export interface CompletionLogprobs {
  tokens: string[];
  /** null only for the first token of an echoed prompt. */
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** Builds completions logprobs chunk by chunk, keeping the text offset across chunks. */
export class CompletionLogprobsBuilder {
  private offset = 0;
  private readonly detokenizer: IncrementalDetokenizer | undefined;

  constructor(private readonly tokenizer: Tokenizer | undefined) {
    this.detokenizer = tokenizer?.createDetokenizer({ skipSpecialTokens: true });
  }

  build(entries: readonly inferencev1.TokenLogprob[], out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }): CompletionLogprobs {
    for (const entry of entries) {
      out.tokens.push(tokenText(this.tokenizer, entry.tokenId));
      out.token_logprobs.push(entry.logprob);
      out.top_logprobs.push(Object.fromEntries(entry.topLogprobs.map((top) => [tokenText(this.tokenizer, top.tokenId), top.logprob])));
      out.text_offset.push(this.offset);
      this.offset += this.advance(entry.tokenId);
    }
    return out;
  }

  /** An echoed prompt's entries then the completion's, in one object; call on a fresh builder. */
  buildEcho(promptEntries: readonly inferencev1.TokenLogprob[], entries: readonly inferencev1.TokenLogprob[]): CompletionLogprobs {
    const out = this.build(promptEntries);
    if (out.tokens.length > 0) {
      out.token_logprobs[0] = null;
      out.top_logprobs[0] = null;
    }
    return this.build(entries, out);
  }

  private advance(id: number): number {
    if (this.detokenizer === undefined) return 0;
    try {
      return this.detokenizer.push([id]).length;
    } catch {
      return 0;
    }
  }
}

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function chatLogprobs(tokenizer: Tokenizer | undefined, entries: readonly inferencev1.TokenLogprob[]): { content: ChatTokenLogprob[] } {
  return {
    content: entries.map((entry) => ({
      token: tokenText(tokenizer, entry.tokenId),
      logprob: entry.logprob,
      bytes: tokenBytes(tokenizer, entry.tokenId),
      top_logprobs: entry.topLogprobs.map((top) => ({ token: tokenText(tokenizer, top.tokenId), logprob: top.logprob, bytes: tokenBytes(tokenizer, top.tokenId) })),
    })),
  };
}
