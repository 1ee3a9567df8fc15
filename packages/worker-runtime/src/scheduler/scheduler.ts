/**
 * The continuous-batching scheduler (vLLM v1's shape): policy only. It never
 * touches a block; it asks the KV-cache manager for slots and frees requests.
 *
 * Each step: running requests first, in priority order, each taking the
 * tokens it still has to compute (a prefill chunk, or the one token of a
 * decode) within the step's token budget. If the cache has no room for one,
 * the lowest-priority running request is preempted (its blocks are freed and
 * it is recomputed later, mostly from the prefix cache). Then, if nothing was
 * preempted, waiting requests are admitted in priority order while budget and
 * room last; a request that does not fit blocks those behind it (no
 * starvation of long prompts). The step runs; requests that caught up sample
 * their next token, and finished ones free their blocks at once.
 *
 * Cancellation frees a request's blocks immediately, unless it is inside the
 * step that is running, in which case right after that step.
 */
import type { ModelRunner, StepSequence } from "@sigmaserve/engine";
import type { KvCacheManager } from "@sigmaserve/kvcache";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { EngineRequest, byPriority, type RequestFinish, type RequestSink, type SubmitRequest } from "./engine-request.js";
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import { TokenOutput } from "./token-output.js";

export interface SchedulerOptions {
  kv: KvCacheManager;
  runner: ModelRunner;
  tokenizer: Tokenizer;
  eosTokenIds: readonly number[];
  /** Tokens computed per step, all sequences together. */
  maxBatchTokens: number;
  /** Running requests at most. */
  maxNumSeqs: number;
  /** Called when an unexpected error fails a step (the step's requests finish with "error"). */
  onStepError?: (err: unknown) => void;
}

export interface SchedulerStats {
  running: number;
  waiting: number;
  preemptionsTotal: number;
  stepsTotal: number;
  tokensComputedTotal: number;
}

export class Scheduler {
  private readonly waiting: EngineRequest[] = [];
  private readonly running: EngineRequest[] = [];
  private readonly byId = new Map<string, EngineRequest>();
  private readonly outputs = new Map<string, TokenOutput>();
  private readonly inFlight = new Set<string>();
  private sequence = 0;
  private loop: Promise<void> | null = null;
  private draining = false;
  private drainedWaiters: (() => void)[] = [];
  private preemptionsTotal = 0;
  private stepsTotal = 0;
  private tokensComputedTotal = 0;

  constructor(private readonly options: SchedulerOptions) {}

  get isDraining(): boolean {
    return this.draining;
  }

  has(requestId: string): boolean {
    return this.byId.has(requestId);
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

  /** Queues a request. The caller validated it; a duplicate id is a bug. */
  submit(submit: SubmitRequest, sink: RequestSink): void {
    if (this.draining) throw new Error("scheduler is draining");
    if (this.byId.has(submit.requestId)) throw new Error(`request ${submit.requestId} is already running`);
    const request = new EngineRequest(submit, this.sequence++, sink);
    this.byId.set(request.id, request);
    const output = new TokenOutput(request, this.options.tokenizer, this.options.eosTokenIds, submit.replayText ?? "");
    this.outputs.set(request.id, output);
    this.waiting.push(request);
    if (output.initialFinish !== undefined) {
      // The replayed tokens already end it (max_tokens, a stop): nothing to compute.
      this.finish(request, output.initialFinish);
      return;
    }
    this.waiting.sort(byPriority);
    this.kick();
  }

  /** Cancels a request (client cancel, deadline). Its blocks are freed at once, or right after the step it is in. */
  cancel(requestId: string): void {
    const request = this.byId.get(requestId);
    if (request === undefined || request.status === "finished") return;
    request.cancelled = true;
    if (!this.inFlight.has(requestId)) this.finish(request, { reason: "cancelled" });
  }

  /** Cancels every request (the end of a drain's grace period). */
  cancelAll(): void {
    for (const id of [...this.byId.keys()]) this.cancel(id);
  }

  /** Stops admitting new requests; resolves when every admitted request has finished. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.byId.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  private kick(): void {
    if (this.loop !== null) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      // A request submitted while the loop was winding down.
      if (this.waiting.length > 0 || this.running.length > 0) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    while (this.waiting.length > 0 || this.running.length > 0) {
      const { scheduled, preempted } = this.schedule();
      if (scheduled.length === 0) {
        // Nothing could start with an empty batch and nothing was freed: the head of the queue can never fit.
        const stuck = this.running.length === 0 && !preempted ? this.waiting[0] : undefined;
        if (stuck !== undefined) this.finish(stuck, { reason: "error", errorMessage: `the request needs more KV cache than this worker has (${stuck.numKnown} tokens)` });
        await yieldToEventLoop();
        continue;
      }
      await this.runStep(scheduled);
      // Let gRPC reads, writes and cancellations in between steps.
      await yieldToEventLoop();
    }
  }

  /** Chooses this step's work. Returns (request, tokens to compute) pairs. */
  private schedule(): { scheduled: { request: EngineRequest; numNew: number }[]; preempted: boolean } {
    const { kv, maxBatchTokens, maxNumSeqs } = this.options;
    let budget = maxBatchTokens;
    const scheduled: { request: EngineRequest; numNew: number }[] = [];
    let preempted = false;
    this.running.sort(byPriority);
    for (const request of [...this.running]) {
      if (budget === 0) break;
      if (request.status !== "running") continue; // preempted earlier in this loop
      const numNew = Math.min(request.numKnown - request.numComputed, budget);
      if (numNew <= 0) continue;
      while (kv.appendSlots(request.id, numNew) === null) {
        preempted = true;
        // The lowest-priority running request not already in this step; failing that, this one
        // itself (everything scheduled before it ranks higher), unless it runs alone.
        const victim = [...this.running].reverse().find((r) => r !== request && r.status === "running" && !scheduled.some((s) => s.request === r));
        if (victim !== undefined) {
          this.preempt(victim);
          continue;
        }
        if (this.running.length === 1) {
          // Alone and still no room: the whole cache is too small for it.
          this.finish(request, { reason: "error", errorMessage: `the request needs more KV cache than this worker has (${request.numKnown} tokens)` });
        } else this.preempt(request);
        break;
      }
      if (request.status !== "running") continue;
      scheduled.push({ request, numNew });
      budget -= numNew;
    }
    // NOTE: as in vLLM, no admissions in a step that had to preempt. (A drain
    // still admits waiting requests: they were accepted before it began.)
    if (preempted) return { scheduled, preempted };
    while (budget > 0 && this.waiting.length > 0 && this.running.length < maxNumSeqs) {
      const request = this.waiting[0]!;
      const prompt = request.allKnown();
      const admission = kv.allocate(request.id, { promptTokens: prompt, cacheSalt: request.cacheSalt, maxNewTokens: budget });
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
    return { scheduled, preempted };
  }

  private preempt(request: EngineRequest): void {
    this.options.kv.free(request.id);
    request.status = "waiting";
    request.numComputed = 0;
    request.preemptions++;
    this.preemptionsTotal++;
    this.running.splice(this.running.indexOf(request), 1);
    this.waiting.push(request);
    this.waiting.sort(byPriority);
  }

  private async runStep(scheduled: { request: EngineRequest; numNew: number }[]): Promise<void> {
    const { kv, runner } = this.options;
    const sequences: StepSequence[] = scheduled.map(({ request, numNew }) => ({
      requestId: request.id,
      startPosition: request.numComputed,
      tokens: request.knownSlice(request.numComputed, request.numComputed + numNew),
      wantLogits: request.numComputed + numNew === request.numKnown,
    }));
    for (const { request } of scheduled) this.inFlight.add(request.id);
    let result: Awaited<ReturnType<ModelRunner["step"]>>;
    try {
      result = await runner.step(sequences);
    } catch (err) {
      this.inFlight.clear();
      this.options.onStepError?.(err);
      for (const { request } of scheduled) this.finish(request, { reason: "error", errorMessage: `engine step failed: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
    this.inFlight.clear();
    this.stepsTotal++;
    this.tokensComputedTotal += result.numRows;
    scheduled.forEach(({ request }, i) => {
      const sequence = sequences[i]!;
      if (request.cancelled) {
        this.finish(request, { reason: "cancelled" });
        return;
      }
      kv.commitTokens(request.id, sequence.tokens);
      request.numComputed += sequence.tokens.length;
      const logits = result.logits.get(request.id);
      if (logits === undefined) return;
      const outcome = this.outputs.get(request.id)!.sample(logits);
      if (outcome.finished) this.finish(request, outcome.finish);
    });
  }

  private finish(request: EngineRequest, finish: Partial<RequestFinish> & { reason: RequestFinish["reason"] }): void {
    if (request.status === "finished") return;
    const wasWaiting = request.status === "waiting";
    request.status = "finished";
    this.options.kv.free(request.id);
    if (wasWaiting) {
      const index = this.waiting.indexOf(request);
      if (index >= 0) this.waiting.splice(index, 1);
    } else {
      const index = this.running.indexOf(request);
      if (index >= 0) this.running.splice(index, 1);
    }
    const output = this.outputs.get(request.id)!;
    this.outputs.delete(request.id);
    this.byId.delete(request.id);
    request.sink.onFinish(output.finishRecord(finish));
    if (this.draining && this.byId.size === 0) for (const resolve of this.drainedWaiters.splice(0)) resolve();
  }
}
