/**
 * Generate stream messages → the SDK's plain event objects, with the stream's
 * protocol checked on the way.
 *
 * The router promises one gap-free stream that ends with exactly one finish
 * (inference.proto), failover included. `StreamReader` holds it to that: a
 * chunk whose completion_offset is not the count of tokens seen so far, a
 * message after the finish, or a stream that ends without one is an
 * InternalError rather than silently corrupted output.
 */
import { inferencev1 } from "@sigmaserve/proto";
import { InternalError } from "./errors.js";

/** Log probability of one alternative token. */
export interface TopLogprob {
  tokenId: number;
  /** Natural-log probability. */
  logprob: number;
}

/** Log probability of one sampled token and its best alternatives. */
export interface TokenLogprob {
  tokenId: number;
  /** Natural-log probability before top-k/top-p truncation. */
  logprob: number;
  /** The most likely tokens at this step, best first. */
  topLogprobs: TopLogprob[];
}

/** Tokens sampled since the previous chunk. */
export interface ChunkEvent {
  type: "chunk";
  tokenIds: number[];
  /** Text these tokens add; always whole UTF-8 characters, possibly empty. */
  text: string;
  /** One entry per token, when the request asked for logprobs. */
  logprobs?: TokenLogprob[];
  /** Index of this chunk's first token within the completion. */
  completionOffset: number;
}

export type FinishReason = "stop" | "length" | "cancelled" | "error";

/** Token counts of the request. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose KV came from the prefix cache. */
  cachedPromptTokens: number;
}

/** Server-side latency breakdown, ms. */
export interface Timings {
  queueMs: number;
  ttftMs: number;
  e2eMs: number;
  meanItlMs: number;
  /** The router's own share of ttftMs (routing, admission, relaying the first token). */
  routerMs: number;
}

/** The last event of every stream. */
export interface FinishEvent {
  type: "finish";
  /** "error": the server failed after streaming began; see errorMessage. */
  finishReason: FinishReason;
  usage: Usage;
  timings: Timings;
  /** Server-assigned request id (in the router's logs and traces). */
  requestId: string;
  /** The caller's client request id, echoed ("" when none was sent). */
  clientRequestId: string;
  /** The seed the sampler used, to replay the request exactly. */
  seed: bigint;
  /** For "stop": the stop string that matched. */
  matchedStop?: string;
  /** For "stop": the stop token id sampled (EOS included). */
  matchedStopTokenId?: number;
  /** For "error": what went wrong. */
  errorMessage?: string;
}

export type GenerateEvent = ChunkEvent | FinishEvent;

const FINISH_REASONS: Partial<Record<inferencev1.FinishReason, FinishReason>> = {
  [inferencev1.FinishReason.STOP]: "stop",
  [inferencev1.FinishReason.LENGTH]: "length",
  [inferencev1.FinishReason.CANCELLED]: "cancelled",
  [inferencev1.FinishReason.ERROR]: "error",
};

function chunkEvent(chunk: inferencev1.TokenChunk): ChunkEvent {
  const event: ChunkEvent = { type: "chunk", tokenIds: [...chunk.tokenIds], text: chunk.textDelta, completionOffset: chunk.completionOffset };
  if (chunk.logprobs.length > 0) {
    event.logprobs = chunk.logprobs.map((entry) => ({
      tokenId: entry.tokenId,
      logprob: entry.logprob,
      topLogprobs: entry.topLogprobs.map((top) => ({ tokenId: top.tokenId, logprob: top.logprob })),
    }));
  }
  return event;
}

function finishEvent(finish: inferencev1.GenerateFinish): FinishEvent {
  const finishReason = FINISH_REASONS[finish.finishReason];
  if (finishReason === undefined) throw new InternalError(`protocol: the finish carries finish_reason ${finish.finishReason}`);
  const event: FinishEvent = {
    type: "finish",
    finishReason,
    usage: {
      promptTokens: finish.usage?.promptTokens ?? 0,
      completionTokens: finish.usage?.completionTokens ?? 0,
      cachedPromptTokens: finish.usage?.cachedPromptTokens ?? 0,
    },
    timings: {
      queueMs: finish.timings?.queueMs ?? 0,
      ttftMs: finish.timings?.ttftMs ?? 0,
      e2eMs: finish.timings?.e2eMs ?? 0,
      meanItlMs: finish.timings?.meanItlMs ?? 0,
      routerMs: finish.timings?.routerMs ?? 0,
    },
    requestId: finish.requestId,
    clientRequestId: finish.clientRequestId,
    seed: finish.seed,
  };
  if (finish.matchedStop !== "") event.matchedStop = finish.matchedStop;
  if (finish.matchedStopTokenId !== undefined) event.matchedStopTokenId = finish.matchedStopTokenId;
  if (finish.errorMessage !== "") event.errorMessage = finish.errorMessage;
  return event;
}

/** Turns one stream's messages into events, in order, and checks the stream's protocol. */
export class StreamReader {
  private tokensSeen = 0;
  private finished = false;

  /** The event for the next message of the stream. */
  read(response: inferencev1.GenerateResponse): GenerateEvent {
    if (this.finished) throw new InternalError("protocol: a message arrived after the finish");
    switch (response.event.case) {
      case "chunk": {
        const { completionOffset, tokenIds } = response.event.value;
        if (completionOffset !== this.tokensSeen) {
          throw new InternalError(`protocol: a chunk starts at completion offset ${completionOffset}, expected ${this.tokensSeen} (a gap or a repeat)`);
        }
        this.tokensSeen += tokenIds.length;
        return chunkEvent(response.event.value);
      }
      case "finish":
        this.finished = true;
        return finishEvent(response.event.value);
      default:
        throw new InternalError("protocol: a stream message carries neither a chunk nor a finish");
    }
  }

  /** Checks the stream ended properly once the server closed it with OK. */
  end(): void {
    if (!this.finished) throw new InternalError("protocol: the stream ended without a finish");
  }
}
