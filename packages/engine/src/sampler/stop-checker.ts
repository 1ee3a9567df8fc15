/**
 * Decides, token by token, when a request is finished and what text may be
 * sent. The worker feeds each sampled id with the text delta its incremental
 * detokenizer produced for it; the checker answers with the text to emit
 * now. Text that could be the beginning of a stop string is held back until
 * the next tokens complete the stop string (then it and everything after are
 * dropped and the output ends right before it) or rule it out (then it is
 * emitted). The held text is always the longest suffix that is a proper
 * prefix of a stop string, a function of the text alone, so the emitted
 * stream never depends on how the text was cut into deltas, and at the finish
 *
 *     emitted text = truncateAtStop(all deltas, stop)
 *
 * (up to a stop token, whose own delta is never emitted). Precedence on one
 * token: a stop id (EOS unless ignore_eos, or a stop_token_ids entry) first,
 * then a stop string, then max_tokens ("length"). Every accepted token counts
 * toward max_tokens, the stop token included (it is a generated token).
 *
 * `include_stop_str_in_output` (vLLM): the matched stop string stays in the
 * output, and so does a stop token's delta; nothing is held back (vLLM's
 * stop buffer is 0 then), so text streams as it comes, and the checker keeps
 * the possible stop prefix only to match against. `min_tokens` (vLLM): the
 * first min_tokens tokens end nothing: a stop id among them does not stop
 * (the sampler masks them anyway, see logits-processor.ts) and a stop string
 * counts only if it ends in the text of a later token.
 *
 * Failover: `replay(tokenIds, textSoFar)` restores the state after tokens
 * another worker generated and streamed. They count toward max_tokens, and
 * textSoFar's held-back tail (which that worker computed the same way and
 * never sent) becomes this checker's held text, so a stop string that spans
 * the replay boundary is still found and no old text is sent again.
 */
import { StopCheckerStateError } from "./errors.js";
import { findStopString, partialStopLength } from "./find-stop-string.js";
import type { SamplingParams } from "./sampling-params.js";

/** Why generation ended, as far as the stop logic goes (cancel and error are the worker's). */
export type StopReason = "stop" | "length";

/** The checker's answer for one token. `emitText` is the text to append to the stream now (possibly ""). */
export type StopDecision =
  | { readonly finished: false; readonly emitText: string }
  | {
      readonly finished: true;
      readonly reason: StopReason;
      /** The stop string that matched (reason "stop"). */
      readonly matchedStop?: string;
      /** The stop token id (EOS included) that was sampled (reason "stop"). */
      readonly matchedStopTokenId?: number;
      readonly emitText: string;
    };

/** The fields of the request's parameters that the stop logic reads. */
export type StopParams = Pick<SamplingParams, "maxTokens" | "stop" | "stopTokenIds" | "ignoreEos"> &
  Partial<Pick<SamplingParams, "minTokens" | "includeStopStrInOutput">>;

export interface StopCheckerOptions {
  /** The request's resolved parameters (the fields the stop logic reads; minTokens 0 and includeStopStrInOutput false when absent). */
  readonly params: StopParams;
  /** The model's end-of-sequence ids; a model may have several (end of text, end of turn). */
  readonly eosTokenIds: readonly number[];
}

const CONTINUE_EMPTY: StopDecision = Object.freeze({ finished: false, emitText: "" });

/**
 * The ids that end a request when sampled: stop_token_ids, plus the model's
 * EOS ids unless ignore_eos. The same set the sampler masks before min_tokens.
 * NOTE: ignore_eos only lifts EOS; an id the user listed in stop_token_ids still stops, even if it is EOS.
 */
export function stopTokenIdsOf(params: Pick<SamplingParams, "stopTokenIds" | "ignoreEos">, eosTokenIds: readonly number[]): ReadonlySet<number> {
  return new Set(params.ignoreEos ? params.stopTokenIds : [...params.stopTokenIds, ...eosTokenIds]);
}

/**
 * The stop logic of one request. NOTE for the worker: the delta passed with
 * a stop token is dropped whole unless includeStopStrInOutput, so the
 * detokenizer need not be fed it then; and on the last token allowed by
 * max_tokens (`tokensLeft === 1`) pass the delta plus the detokenizer's
 * flush(), so bytes it still holds reach the output (and the stop strings)
 * before the finish.
 */
export class StopChecker {
  private readonly maxTokens: number;
  private readonly minTokens: number;
  private readonly includeStop: boolean;
  private readonly stops: readonly string[];
  private readonly stopIds: ReadonlySet<number>;
  /** The longest suffix of the text so far that may still grow into a stop string; not yet emitted unless includeStop. */
  private tail = "";
  private generated = 0;
  private finishedWith: StopDecision | undefined;

  constructor(options: StopCheckerOptions) {
    const { params } = options;
    this.maxTokens = params.maxTokens;
    this.minTokens = params.minTokens ?? 0;
    this.includeStop = params.includeStopStrInOutput ?? false;
    this.stops = params.stop;
    this.stopIds = stopTokenIdsOf(params, options.eosTokenIds);
  }

  /** Tokens accepted (and replayed) so far, the stop token included. */
  get numGeneratedTokens(): number {
    return this.generated;
  }

  /** Tokens that may still be accepted before max_tokens ends the request. */
  get tokensLeft(): number {
    return this.finishedWith === undefined ? this.maxTokens - this.generated : 0;
  }

  /** The finishing decision once the request is finished; undefined while it runs. */
  get finalDecision(): StopDecision | undefined {
    return this.finishedWith;
  }

  /** Whether `tokenId`, accepted as the next token, ends the request by its id (a stop id, once min_tokens tokens were generated). */
  stopsOnTokenId(tokenId: number): boolean {
    return this.generated >= this.minTokens && this.stopIds.has(tokenId);
  }

  /**
   * Restores the state after `tokenIds`, generated and streamed by another
   * worker, whose detokenized text (concatenated deltas, no flush) is
   * `textSoFar`. Must come before the first `accept`. Assumes the client got
   * textSoFar minus its held-back tail. Returns `{ finished: false, emitText:
   * "" }`, or, when the replayed tokens already end the request, the finish:
   * for a stop id or max_tokens it emits the held tail (never sent); for a
   * stop string inside textSoFar it emits nothing (the text before it was).
   * NOTE: with min_tokens, textSoFar is not searched for stop strings: the
   * other worker would have ended at one that counted, so any occurrence in
   * the text it sent ended within the first min_tokens tokens.
   */
  replay(tokenIds: readonly number[], textSoFar: string): StopDecision {
    if (this.generated > 0 || this.finishedWith !== undefined) {
      throw new StopCheckerStateError(`replay must come before the first token (${this.generated} already accepted)`);
    }
    this.generated = tokenIds.length;
    const stopToken = tokenIds.find((id, i) => i >= this.minTokens && this.stopIds.has(id));
    const match = this.minTokens === 0 ? findStopString(textSoFar, this.stops) : undefined;
    if (match !== undefined && stopToken === undefined) {
      return this.end({ finished: true, reason: "stop", matchedStop: match.stop, emitText: "" });
    }
    this.tail = textSoFar.slice(textSoFar.length - partialStopLength(textSoFar, this.stops));
    const unsent = this.includeStop ? "" : this.tail;
    if (stopToken !== undefined) return this.end({ finished: true, reason: "stop", matchedStopTokenId: stopToken, emitText: unsent });
    if (this.generated >= this.maxTokens) return this.end({ finished: true, reason: "length", emitText: unsent });
    return CONTINUE_EMPTY;
  }

  /** Takes the next sampled token and the text delta the detokenizer produced for it; returns what to emit and whether it is over. */
  accept(tokenId: number, textDelta: string): StopDecision {
    if (this.finishedWith !== undefined) {
      throw new StopCheckerStateError(`token ${tokenId} arrived after the request finished (${this.generated} tokens)`);
    }
    const mayStop = this.generated >= this.minTokens;
    this.generated++;
    // Where the unsent part of tail + delta starts: the tail was emitted already when stop strings stay in the output.
    const unsentFrom = this.includeStop ? this.tail.length : 0;
    if (mayStop && this.stopIds.has(tokenId)) {
      // The tail cannot be a stop string (it is a proper prefix of one), so it is released; the stop token's text only when asked.
      const emitText = this.includeStop ? textDelta : this.tail;
      return this.end({ finished: true, reason: "stop", matchedStopTokenId: tokenId, emitText });
    }
    const text = this.tail + textDelta;
    // Only an occurrence that ends in this delta counts: one inside the tail ended before min_tokens.
    const match = mayStop ? findStopString(text, this.stops, this.tail.length) : undefined;
    if (match !== undefined) {
      const end = this.includeStop ? match.index + match.stop.length : match.index;
      return this.end({ finished: true, reason: "stop", matchedStop: match.stop, emitText: text.slice(unsentFrom, end) });
    }
    if (this.generated >= this.maxTokens) return this.end({ finished: true, reason: "length", emitText: text.slice(unsentFrom) });
    const tailLength = partialStopLength(text, this.stops);
    this.tail = text.slice(text.length - tailLength);
    const emitText = this.includeStop ? textDelta : text.slice(0, text.length - tailLength);
    return emitText.length === 0 ? CONTINUE_EMPTY : { finished: false, emitText };
  }

  private end(decision: StopDecision): StopDecision {
    this.tail = "";
    this.finishedWith = decision;
    return decision;
  }
}
