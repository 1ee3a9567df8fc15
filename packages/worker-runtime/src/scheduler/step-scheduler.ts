/**
 * The continuous-batching policy, one step at a time (vLLM v1's Scheduler):
 * synchronous, with no model and no I/O, so a test can drive it step by step
 * against a real KV-cache manager. It never touches a block; it asks the
 * manager for slots and frees requests.
 *
 * `schedule()` chooses a step's work. Running requests come first, in
 * priority order, each taking the tokens it still has to compute (a prefill
 * chunk, or the one token of a decode) within the step's token budget. If the
 * cache has no room for one, the lowest-priority running request not yet in
 * the step is preempted (its blocks are freed and it is recomputed later,
 * mostly from the prefix cache); failing that, the request itself. Then, if
 * nothing was preempted, waiting requests are admitted in priority order
 * while budget, room and `maxNumSeqs` last; a request that does not fit
 * blocks those behind it (no starvation of long prompts).
 *
 * `update(plan, output)` applies what the model computed: it commits the
 * tokens, and requests that caught up sample their next token; finished ones
 * free their blocks at once. Between `schedule()` and `update()` the plan's
 * requests are in flight: cancelling one marks it, and `update` finishes it
 * instead of committing. Any other cancellation frees the blocks at once.
 */
import type { PromptTokenLogprob, StepSequence } from "@sigmaserve/engine";
import type { KvCacheManager } from "@sigmaserve/kvcache";
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import { EngineRequest, byPriority, type RequestFinish, type RequestSink, type SubmitRequest } from "./engine-request.js";
import { TokenOutput } from "./token-output.js";

export interface StepSchedulerOptions {
  kv: KvCacheManager;
  tokenizer: Tokenizer;
  eosTokenIds: readonly number[];
  /** Tokens computed per step, all sequences together. */
  maxBatchTokens: number;
  /** Running requests at most. */
  maxNumSeqs: number;
  /** Called after every finish (drain waits for the last one). */
  onRequestFinished?: (requestId: string) => void;
}

/** A step's work, as `schedule()` chose it. */
export interface StepPlan {
  /** What the model computes: running requests in priority order, then admissions in admission order. */
  readonly sequences: readonly StepSequence[];
  /** Requests preempted while planning, in that order: their blocks are freed and they wait again. */
  readonly preemptedIds: readonly string[];
}

/** What the model returned for a plan (the engine's StepResult has more). */
export interface StepOutput {
  /** Logits rows, [vocab] each, for the sequences that asked. */
  readonly logits: ReadonlyMap<string, Float32Array>;
  /** Prompt logprobs for the sequences that asked (see StepSequence.promptLogprobs); a test runner may leave it out. */
  readonly promptLogprobs?: ReadonlyMap<string, readonly PromptTokenLogprob[]>;
  /** Tokens computed. */
  readonly numRows: number;
  /** Bytes the attention kernel read in the step (the engine reports them; a test runner may not). */
  readonly reads?: { readonly kBytes: number; readonly vBytesDevice: number; readonly vBytesHost: number };
  /** V bytes full attention would have read in the step (selective V reads less). */
  readonly fullAttentionVBytes?: number;
  /** Milliseconds of the step by phase (the engine reports them; a test runner may not). */
  readonly timings?: { readonly denseMs: number; readonly attentionMs: number; readonly kvWriteMs: number };
}

export interface SchedulerStats {
  running: number;
  waiting: number;
  preemptionsTotal: number;
  stepsTotal: number;
  tokensComputedTotal: number;
}

type FinishFields = Partial<RequestFinish> & { reason: RequestFinish["reason"] };

export class StepScheduler {
  private readonly waiting: EngineRequest[] = [];
  private readonly running: EngineRequest[] = [];
  private readonly byId = new Map<string, EngineRequest>();
  private readonly outputs = new Map<string, TokenOutput>();
  /** The requests of the plan between schedule() and update() or fail(). */
  private inFlight = new Map<string, EngineRequest>();
  private sequence = 0;
  private preemptionsTotal = 0;
  private stepsTotal = 0;
  private tokensComputedTotal = 0;

  constructor(private readonly options: StepSchedulerOptions) {}

  /** Admitted requests that have not finished, waiting or running. */
  get size(): number {
    return this.byId.size;
  }

  has(requestId: string): boolean {
    return this.byId.has(requestId);
  }

  /** Ids of every admitted request not finished: running first (priority order), then waiting. */
  activeIds(): string[] {
    return [...this.running, ...this.waiting].map((r) => r.id);
  }

  /** Ids of the running requests, in priority order as of the last schedule(). */
  runningIds(): string[] {
    return this.running.map((r) => r.id);
  }

  /** Ids of the waiting requests, in the order they will be admitted. */
  waitingIds(): string[] {
    return this.waiting.map((r) => r.id);
  }

  stats(): SchedulerStats {
    return {
      running: this.running.length,
      waiting: this.waiting.length,
      preemptionsTotal: this.preemptionsTotal,
      stepsTotal: this.stepsTotal,
      tokensComputedTotal: this.tokensComputedTotal,
    };
  }

  /** Queues a request. The caller validated it; a duplicate id is a bug. Returns false when it finished at once (its replay already ends it). */
  add(submit: SubmitRequest, sink: RequestSink): boolean {
    if (this.byId.has(submit.requestId)) throw new Error(`request ${submit.requestId} is already running`);
    const request = new EngineRequest(submit, this.sequence++, sink);
    this.byId.set(request.id, request);
    const output = new TokenOutput(request, this.options.tokenizer, this.options.eosTokenIds, submit.replayText ?? "");
    this.outputs.set(request.id, output);
    this.waiting.push(request);
    if (output.initialFinish !== undefined) {
      // The replayed tokens already end it (max_tokens, a stop): nothing to compute.
      this.finish(request, output.initialFinish);
      return false;
    }
    this.waiting.sort(byPriority);
    return true;
  }

  /** Cancels a request (client cancel, deadline). Its blocks are freed at once, or by update() when it is in flight. */
  cancel(requestId: string): void {
    const request = this.byId.get(requestId);
    if (request === undefined || request.status === "finished") return;
    request.cancelled = true;
    if (!this.inFlight.has(requestId)) this.finish(request, { reason: "cancelled" });
  }

  /**
   * Takes a request off this worker to continue elsewhere: like a cancel, but
   * it finishes as "handover", and a step in flight is committed first (its K
   * and V stay in the cache for the migration; it samples nothing). Returns
   * the tokens it knows (prompt, then what it generated) and its cache salt,
   * or undefined when it is not here.
   */
  handover(requestId: string): { tokens: number[]; cacheSalt: string } | undefined {
    const request = this.byId.get(requestId);
    if (request === undefined || request.status === "finished") return undefined;
    const known = { tokens: request.allKnown(), cacheSalt: request.cacheSalt };
    request.cancelled = true;
    request.handingOver = true;
    if (!this.inFlight.has(requestId)) this.finish(request, { reason: "handover" });
    return known;
  }

  /** Cancels every request, in submission order (the end of a drain's grace period). */
  cancelAll(): void {
    for (const id of [...this.byId.keys()]) this.cancel(id);
  }

  /** Chooses this step's work and reserves its slots. An empty plan with nothing preempted means: wait for a submit. */
  schedule(): StepPlan {
    if (this.inFlight.size > 0) throw new Error("schedule() while a step is in flight: update() or fail() it first");
    const { kv, maxBatchTokens, maxNumSeqs } = this.options;
    let budget = maxBatchTokens;
    const scheduled: { request: EngineRequest; numNew: number }[] = [];
    const preemptedIds: string[] = [];
    let ranOutOfRoom = false;
    this.running.sort(byPriority);
    for (const request of [...this.running]) {
      if (budget === 0) break;
      if (request.status !== "running") continue; // preempted earlier in this loop
      const numNew = Math.min(request.numKnown - request.numComputed, budget);
      if (numNew <= 0) continue;
      while (kv.appendSlots(request.id, numNew) === null) {
        ranOutOfRoom = true;
        // The lowest-priority running request not already in this step; failing that, this one
        // itself (everything scheduled before it ranks higher), unless it runs alone.
        const victim = [...this.running].reverse().find((r) => r !== request && r.status === "running" && !scheduled.some((s) => s.request === r));
        if (victim !== undefined) {
          this.preempt(victim);
          preemptedIds.push(victim.id);
          continue;
        }
        if (this.running.length === 1) {
          // Alone and still no room: the whole cache is too small for it.
          this.finish(request, { reason: "error", errorMessage: `the request needs more KV cache than this worker has (${request.numKnown} tokens)` });
        } else {
          this.preempt(request);
          preemptedIds.push(request.id);
        }
        break;
      }
      if (request.status !== "running") continue;
      scheduled.push({ request, numNew });
      budget -= numNew;
    }
    // NOTE: as in vLLM, no admissions in a step that ran out of room (it preempted, or failed a request
    // too big for the whole cache). A drain still admits waiting requests: they were accepted before it began.
    if (!ranOutOfRoom) {
      while (budget > 0 && this.waiting.length > 0 && this.running.length < maxNumSeqs) {
        const request = this.waiting[0]!;
        // NOTE: a request that still needs prompt logprobs computes its whole prompt (as vLLM): cached blocks
        // have no logits. Offering only its first token finds no cached prefix (the last token is always
        // computed); its blocks are still hashed and registered as it commits, so others reuse them.
        const admission = request.needsPromptLogprobs
          ? kv.allocate(request.id, { promptTokens: request.promptTokens.slice(0, 1), cacheSalt: request.cacheSalt, numNewTokens: Math.min(request.numKnown, budget) })
          : kv.allocate(request.id, { promptTokens: request.allKnown(), cacheSalt: request.cacheSalt, maxNewTokens: budget });
        if (admission === null) break;
        this.waiting.shift();
        request.status = "running";
        request.numComputed = admission.numCachedTokens;
        request.cachedPromptTokens ??= Math.min(admission.numCachedTokens, request.promptTokens.length);
        request.scheduledAtMs ??= Date.now();
        this.running.push(request);
        // The same reservation allocate() made: the rest after the cached prefix, within the budget.
        const numNew = Math.min(request.numKnown - admission.numCachedTokens, budget);
        scheduled.push({ request, numNew });
        budget -= numNew;
      }
      // Nothing could start with an empty batch and nothing was freed: the head of the queue can never fit.
      const stuck = scheduled.length === 0 && this.running.length === 0 ? this.waiting[0] : undefined;
      if (stuck !== undefined) this.finish(stuck, { reason: "error", errorMessage: `the request needs more KV cache than this worker has (${stuck.numKnown} tokens)` });
    }
    const sequences = scheduled.map(({ request, numNew }): StepSequence => {
      const start = request.numComputed;
      // A scoring request (max_tokens 0) samples nothing: it needs no logits for its last row.
      const sequence: StepSequence = { requestId: request.id, startPosition: start, tokens: request.knownSlice(start, start + numNew), wantLogits: start + numNew === request.numKnown && request.params.maxTokens > 0 };
      if (request.promptLogprobs !== undefined && start + 1 < request.promptTokens.length) {
        // Row i (position start + i) scores the prompt token after it, while there is one.
        const targets = request.promptTokens.slice(start + 1, Math.min(start + numNew, request.promptTokens.length - 1) + 1);
        sequence.promptLogprobs = { topN: request.params.promptLogprobs!, targets };
      }
      return sequence;
    });
    for (const { request } of scheduled) this.inFlight.set(request.id, request);
    return { sequences, preemptedIds };
  }

  /** Applies a step's output: commits its tokens, samples where logits came back, finishes what ended. */
  update(plan: StepPlan, output: StepOutput): void {
    const inFlight = this.landed(plan);
    this.stepsTotal++;
    this.tokensComputedTotal += output.numRows;
    for (const sequence of plan.sequences) {
      const request = inFlight.get(sequence.requestId)!;
      if (request.cancelled) {
        if (request.handingOver) this.options.kv.commitTokens(request.id, sequence.tokens);
        this.finish(request, { reason: request.handingOver ? "handover" : "cancelled" });
        continue;
      }
      this.options.kv.commitTokens(request.id, sequence.tokens);
      request.numComputed += sequence.tokens.length;
      // More than one token is known tokens being computed (a decode step computes one).
      if (sequence.tokens.length > 1) request.sink.onProgress?.({ kind: "prefill_chunk", tokens: sequence.tokens.length, computed: request.numComputed, known: request.numKnown, atMs: Date.now() });
      if (sequence.promptLogprobs !== undefined) this.landPromptLogprobs(request, sequence, output);
      if (request.params.maxTokens === 0) {
        // A scoring request ends when its prompt is computed, with nothing sampled (vLLM: length, 0 tokens).
        if (request.numComputed === request.numKnown) this.finish(request, { reason: "length" });
        continue;
      }
      const logits = output.logits.get(request.id);
      if (logits === undefined) continue;
      const outcome = this.outputs.get(request.id)!.sample(logits);
      if (outcome.finished) this.finish(request, outcome.finish);
    }
  }

  /** Stores a chunk's prompt logprobs: entry i of the step's output is prompt position startPosition + i + 1. */
  private landPromptLogprobs(request: EngineRequest, sequence: StepSequence, output: StepOutput): void {
    const entries = output.promptLogprobs?.get(request.id);
    const expected = sequence.promptLogprobs!.targets.length;
    if (entries === undefined || entries.length !== expected) {
      throw new Error(`request ${request.id}: the step returned ${entries?.length ?? 0} prompt logprobs for ${expected} prompt rows`);
    }
    entries.forEach((entry, i) => (request.promptLogprobs![sequence.startPosition + i + 1] = entry));
    request.promptLogprobsThrough = Math.max(request.promptLogprobsThrough, sequence.startPosition + expected);
  }

  /** The step failed: each of its requests finishes with "error" and frees its blocks. */
  fail(plan: StepPlan, err: unknown): void {
    const inFlight = this.landed(plan);
    const errorMessage = `engine step failed: ${err instanceof Error ? err.message : String(err)}`;
    for (const request of inFlight.values()) this.finish(request, { reason: "error", errorMessage });
  }

  /** Ends the in-flight state of `plan` (first, so that a cancel from here on frees at once) and returns its requests. */
  private landed(plan: StepPlan): Map<string, EngineRequest> {
    const inFlight = this.inFlight;
    if (inFlight.size !== plan.sequences.length || plan.sequences.some((s) => !inFlight.has(s.requestId))) {
      throw new Error("update() or fail() with a plan that is not the one in flight");
    }
    this.inFlight = new Map();
    return inFlight;
  }

  private preempt(request: EngineRequest): void {
    request.sink.onProgress?.({ kind: "preempted", computedBefore: request.numComputed, atMs: Date.now() });
    this.options.kv.free(request.id);
    request.status = "waiting";
    request.numComputed = 0;
    request.preemptions++;
    this.preemptionsTotal++;
    this.running.splice(this.running.indexOf(request), 1);
    this.waiting.push(request);
    this.waiting.sort(byPriority);
  }

  private finish(request: EngineRequest, finish: FinishFields): void {
    if (request.status === "finished") return;
    const wasWaiting = request.status === "waiting";
    request.status = "finished";
    this.options.kv.free(request.id);
    const queue = wasWaiting ? this.waiting : this.running;
    const index = queue.indexOf(request);
    if (index >= 0) queue.splice(index, 1);
    const output = this.outputs.get(request.id)!;
    this.outputs.delete(request.id);
    this.byId.delete(request.id);
    const record = output.finishRecord(finish);
    // Only a prompt computed in full has its logprobs; a request cancelled or failed before that sends none.
    if (request.promptLogprobs !== undefined && !request.needsPromptLogprobs && (finish.reason === "stop" || finish.reason === "length")) record.promptLogprobs = request.promptLogprobs;
    request.sink.onFinish(record);
    this.options.onRequestFinished?.(request.id);
  }
}
