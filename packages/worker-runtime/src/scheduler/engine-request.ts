/**
 * One request inside the worker, from admission to finish.
 *
 * Model: the request's known tokens are its prompt followed by what it has
 * generated (replayed tokens from a failed worker included). `numComputed`
 * counts the known tokens whose K and V are in the cache; each step computes
 * some of the rest, and when it catches up the request samples its next
 * token. A preempted request drops its blocks and starts over at 0, usually
 * finding most of its tokens in the prefix cache again.
 */
import type { PromptTokenLogprob, SamplingParams } from "@sigmaserve/engine";

/**
 * "handover": the request left this worker unfinished to go on elsewhere (a
 * drain with migration); its stream ends without a finish message (see
 * worker-service.ts), and the router continues it on another worker.
 */
export type FinishReason = "stop" | "length" | "cancelled" | "error" | "handover";

export interface TokenChunk {
  tokenIds: number[];
  textDelta: string;
  /** Index of tokenIds[0] within the completion (replayed tokens count). */
  completionOffset: number;
  logprobs?: { tokenId: number; logprob: number; topLogprobs: { tokenId: number; logprob: number }[] }[];
}

export interface RequestFinish {
  reason: FinishReason;
  matchedStop?: string;
  matchedStopTokenId?: number;
  usage: { promptTokens: number; completionTokens: number; cachedPromptTokens: number };
  timings: { queueMs: number; ttftMs: number; e2eMs: number; meanItlMs: number };
  seed: bigint;
  errorMessage?: string;
  /**
   * When the request asked for prompt logprobs and its prompt was computed: one entry per prompt token; the
   * first is undefined (nothing precedes it).
   */
  promptLogprobs?: (PromptTokenLogprob | undefined)[];
}

/**
 * What happened to a request on the way, for its trace: a chunk of its known tokens (prompt, or replayed
 * tokens) computed in one step, or a preemption (its blocks dropped; it waits and computes again).
 * `atMs` is the wall clock (ms since the epoch).
 */
export type RequestProgress =
  | { kind: "prefill_chunk"; tokens: number; computed: number; known: number; atMs: number }
  | { kind: "preempted"; computedBefore: number; atMs: number };

/** Where a request's output goes (the gRPC stream, or a test). */
export interface RequestSink {
  onChunk(chunk: TokenChunk): void;
  onFinish(finish: RequestFinish): void;
  /** Optional: progress that is not output (tracing listens). */
  onProgress?(progress: RequestProgress): void;
}

export interface SubmitRequest {
  requestId: string;
  promptTokens: readonly number[];
  params: SamplingParams;
  cacheSalt: string;
  priority: number;
  /** Tokens already generated elsewhere (failover replay) and the text already sent for them. */
  replayTokens?: readonly number[];
  replayText?: string;
  /** When the request reached the cluster (ms since the epoch); default now. */
  arrivedAtUnixMs?: number;
}

export type RequestStatus = "waiting" | "running" | "finished";

export class EngineRequest {
  readonly id: string;
  readonly promptTokens: readonly number[];
  readonly params: SamplingParams;
  readonly cacheSalt: string;
  readonly priority: number;
  /** Arrival order, for ties in priority. */
  readonly sequence: number;
  readonly arrivedAtMs: number;
  readonly outputTokens: number[];
  readonly numReplayed: number;
  status: RequestStatus = "waiting";
  numComputed = 0;
  /** Prompt tokens served from the prefix cache at the first admission. */
  cachedPromptTokens: number | undefined;
  cancelled = false;
  /** Leaving for another worker: finishes as "handover" (with the in-flight step's K and V kept) instead of "cancelled". */
  handingOver = false;
  scheduledAtMs: number | undefined;
  firstTokenAtMs: number | undefined;
  lastTokenAtMs: number | undefined;
  preemptions = 0;
  /**
   * Prompt logprobs by prompt position, filled chunk by chunk as the prompt is computed (entry 0 stays
   * undefined); undefined unless params.promptLogprobs is set. A recompute after preemption writes the same values.
   */
  readonly promptLogprobs: (PromptTokenLogprob | undefined)[] | undefined;
  /** Prompt positions whose logprob is in promptLogprobs, counted from 1 (0 until the first chunk lands). */
  promptLogprobsThrough = 0;

  constructor(
    submit: SubmitRequest,
    sequence: number,
    readonly sink: RequestSink,
  ) {
    this.id = submit.requestId;
    this.promptTokens = submit.promptTokens;
    this.params = submit.params;
    this.cacheSalt = submit.cacheSalt;
    this.priority = submit.priority;
    this.sequence = sequence;
    this.outputTokens = [...(submit.replayTokens ?? [])];
    this.numReplayed = this.outputTokens.length;
    this.promptLogprobs = submit.params.promptLogprobs === undefined ? undefined : new Array<PromptTokenLogprob | undefined>(submit.promptTokens.length).fill(undefined);
    // Wall-clock arrival from the router lets queue_ms include the router's queue.
    const now = Date.now();
    this.arrivedAtMs = submit.arrivedAtUnixMs !== undefined && submit.arrivedAtUnixMs > 0 && submit.arrivedAtUnixMs <= now ? submit.arrivedAtUnixMs : now;
  }

  /**
   * Whether the request still needs logits of prompt rows: it asked for prompt logprobs and not all are in.
   * Such a request computes its whole prompt, never taking it from the prefix cache (cached blocks hold K and V, not logits).
   */
  get needsPromptLogprobs(): boolean {
    return this.promptLogprobs !== undefined && this.promptLogprobsThrough < this.promptTokens.length - 1;
  }

  get numKnown(): number {
    return this.promptTokens.length + this.outputTokens.length;
  }

  /** Known tokens [from, to). */
  knownSlice(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = from; i < to; i++) out.push(i < this.promptTokens.length ? this.promptTokens[i]! : this.outputTokens[i - this.promptTokens.length]!);
    return out;
  }

  allKnown(): number[] {
    return [...this.promptTokens, ...this.outputTokens];
  }
}

/** Scheduling order: lower priority value first, then arrival (as vLLM's priority policy). */
export function byPriority(a: EngineRequest, b: EngineRequest): number {
  return a.priority - b.priority || a.sequence - b.sequence;
}
