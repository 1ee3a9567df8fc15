/**
 * A request's output side: sampling with its own seeded PRNG and logits
 * processor (min_tokens mask, repetition penalty), incremental
 * detokenization (skip_special_tokens), stop checks (min_tokens,
 * include_stop_str_in_output), and the chunks and finish record it emits.
 *
 * The sampler's draw for the k-th generated token depends only on (seed, k),
 * and k counts replayed tokens; the processor's state is rebuilt from the
 * prompt and the replayed tokens. So a request resumed on another worker
 * after a failover continues exactly where the failed worker would have.
 */
import { LogitsProcessor, StopChecker, sampleToken, stopTokenIdsOf, type StopDecision } from "@sigmaserve/engine";
import type { IncrementalDetokenizer, Tokenizer } from "@sigmaserve/model/tokenizer";
import type { EngineRequest, RequestFinish } from "./engine-request.js";

type FinishFields = Pick<RequestFinish, "reason" | "matchedStop" | "matchedStopTokenId" | "errorMessage">;

function finishFields(decision: StopDecision & { finished: true }): FinishFields {
  return {
    reason: decision.reason,
    ...(decision.matchedStop === undefined ? {} : { matchedStop: decision.matchedStop }),
    ...(decision.matchedStopTokenId === undefined ? {} : { matchedStopTokenId: decision.matchedStopTokenId }),
  };
}

export class TokenOutput {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stop: StopChecker;
  private readonly processor: LogitsProcessor;
  /** Set when the replayed tokens already end the request: it finishes without computing. */
  readonly initialFinish: FinishFields | undefined;

  constructor(
    private readonly request: EngineRequest,
    tokenizer: Tokenizer,
    eosTokenIds: readonly number[],
    replayText: string,
  ) {
    const params = request.params;
    this.detokenizer = tokenizer.createDetokenizer({ skipSpecialTokens: params.skipSpecialTokens });
    this.stop = new StopChecker({ params, eosTokenIds });
    this.processor = new LogitsProcessor(params, stopTokenIdsOf(params, eosTokenIds), request.allKnown());
    if (request.numReplayed > 0) {
      // The detokenizer must hold what the failed worker's held (e.g. half a UTF-8 character); its output was already sent.
      this.detokenizer.push(request.outputTokens);
      const decision = this.stop.replay(request.outputTokens, replayText);
      if (decision.finished) {
        this.initialFinish = finishFields(decision);
        if (decision.emitText !== "") request.sink.onChunk({ tokenIds: [], textDelta: decision.emitText, completionOffset: request.outputTokens.length });
      }
    }
  }

  /** Samples the next token from `logits`, emits its chunk, and says whether the request is done. */
  sample(logits: Float32Array): { finished: false } | { finished: true; finish: FinishFields } {
    const request = this.request;
    const step = request.outputTokens.length;
    const sampled = sampleToken(logits, request.params, step, undefined, this.processor);
    const tokenId = sampled.tokenId;
    request.outputTokens.push(tokenId);
    this.processor.observe(tokenId);
    const now = Date.now();
    request.firstTokenAtMs ??= now;
    request.lastTokenAtMs = now;
    const stopsHere = this.stop.stopsOnTokenId(tokenId);
    // A stop token's text is dropped unless include_stop_str_in_output; when kept, it is the last text, so flush.
    const keepText = !stopsHere || request.params.includeStopStrInOutput;
    let delta = keepText ? this.detokenizer.push([tokenId]) : "";
    if (keepText && (stopsHere || this.stop.tokensLeft === 1)) delta += this.detokenizer.flush();
    const decision = this.stop.accept(tokenId, delta);
    request.sink.onChunk({
      tokenIds: [tokenId],
      textDelta: decision.emitText,
      completionOffset: step,
      ...(request.params.logprobs === undefined
        ? {}
        : { logprobs: [{ tokenId, logprob: sampled.logprob ?? 0, topLogprobs: (sampled.topLogprobs ?? []).map((t) => ({ tokenId: t.tokenId, logprob: t.logprob })) }] }),
    });
    return decision.finished ? { finished: true, finish: finishFields(decision) } : { finished: false };
  }

  /** The final record: reason, usage and timings (ms of wall time since arrival). */
  finishRecord(fields: Partial<RequestFinish> & { reason: RequestFinish["reason"] }): RequestFinish {
    const request = this.request;
    const now = Date.now();
    const generated = request.outputTokens.length - request.numReplayed;
    const firstToken = request.firstTokenAtMs ?? now;
    return {
      reason: fields.reason,
      ...(fields.matchedStop === undefined ? {} : { matchedStop: fields.matchedStop }),
      ...(fields.matchedStopTokenId === undefined ? {} : { matchedStopTokenId: fields.matchedStopTokenId }),
      ...(fields.errorMessage === undefined ? {} : { errorMessage: fields.errorMessage }),
      usage: { promptTokens: request.promptTokens.length, completionTokens: request.outputTokens.length, cachedPromptTokens: request.cachedPromptTokens ?? 0 },
      timings: {
        queueMs: (request.scheduledAtMs ?? now) - request.arrivedAtMs,
        ttftMs: firstToken - request.arrivedAtMs,
        e2eMs: now - request.arrivedAtMs,
        meanItlMs: generated > 1 && request.lastTokenAtMs !== undefined ? (request.lastTokenAtMs - firstToken) / (generated - 1) : 0,
      },
      seed: request.params.seed,
    };
  }
}
