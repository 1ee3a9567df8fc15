/**
 * The worker's engine loop: it runs the plans of the continuous-batching
 * policy (`StepScheduler`, which holds every decision) on the model runner,
 * one step at a time, for as long as there is work. Between steps it yields
 * to the event loop so gRPC reads, writes and cancellations get in; a
 * cancellation during a step takes effect right after it.
 *
 * It also owns drain: once draining, nothing new is submitted, and `drain()`
 * resolves when every admitted request has finished.
 */
import type { StepSequence } from "@sigmaserve/engine";
import type { KvCacheManager } from "@sigmaserve/kvcache";
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { RequestSink, SubmitRequest } from "./engine-request.js";
import { Ewma } from "../measure/ewma.js";
import { StepScheduler, type SchedulerStats, type StepOutput } from "./step-scheduler.js";

export type { SchedulerStats } from "./step-scheduler.js";

/** What the loop needs of the model: one batched step (the engine's ModelRunner, or a fake in tests). */
/** The phases of the step loop (see Scheduler.stepPhaseMs). */
export type StepPhase = "schedule" | "dense" | "attention" | "kvWrite" | "sample" | "io";

export interface BatchRunner {
  step(sequences: readonly StepSequence[]): Promise<StepOutput>;
}

export interface SchedulerOptions {
  kv: KvCacheManager;
  runner: BatchRunner;
  tokenizer: Tokenizer;
  eosTokenIds: readonly number[];
  /** Tokens computed per step, all sequences together. */
  maxBatchTokens: number;
  /** Running requests at most. */
  maxNumSeqs: number;
  /** Called when an unexpected error fails a step (the step's requests finish with "error"). */
  onStepError?: (err: unknown) => void;
}

/** Prompt tokens a step must compute for its time to count as a prefill-speed sample. */
export const MIN_PREFILL_SAMPLE_TOKENS = 32;

export class Scheduler {
  private readonly policy: StepScheduler;
  /** Prompt tokens computed per second of step time, over steps that computed at least MIN_PREFILL_SAMPLE_TOKENS of them. */
  private readonly prefillRate = new Ewma();
  private loop: Promise<void> | null = null;
  private draining = false;
  private drainedWaiters: (() => void)[] = [];
  /** Handovers waiting for their request to leave (after the step in flight). */
  private readonly leaving = new Map<string, () => void>();

  constructor(private readonly options: SchedulerOptions) {
    this.policy = new StepScheduler({
      kv: options.kv,
      tokenizer: options.tokenizer,
      eosTokenIds: options.eosTokenIds,
      maxBatchTokens: options.maxBatchTokens,
      maxNumSeqs: options.maxNumSeqs,
      onRequestFinished: (requestId) => {
        this.leaving.get(requestId)?.();
        this.leaving.delete(requestId);
        if (this.draining && this.policy.size === 0) for (const resolve of this.drainedWaiters.splice(0)) resolve();
      },
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  has(requestId: string): boolean {
    return this.policy.has(requestId);
  }

  /**
   * Bytes the attention kernel has read since start: K, and V from each tier (selective V reads part of it from
   * the host), and the V bytes full attention would have read (what selective V skipped is the difference).
   */
  readonly attentionReadBytes = { k: 0, vDevice: 0, vHost: 0, vFullAttention: 0 };
  /**
   * Wall milliseconds of the step loop by phase, summed since start: where a step's time goes.
   * `dense` runs ORT on its own thread while this thread serves gRPC between the stages, so it includes that I/O;
   * `sample` is applying a step's output (sampling, stop checks, handing chunks to the streams); `io` is the
   * event-loop turn between steps (gRPC reads and writes).
   */
  readonly stepPhaseMs: Record<StepPhase, number> = { schedule: 0, dense: 0, attention: 0, kvWrite: 0, sample: 0, io: 0 };

  stats(): SchedulerStats & { prefillTokensPerS: number } {
    return { ...this.policy.stats(), prefillTokensPerS: this.prefillRate.value };
  }

  /** Queues a request. The caller validated it; a duplicate id is a bug. */
  submit(submit: SubmitRequest, sink: RequestSink): void {
    if (this.draining) throw new Error("scheduler is draining");
    if (this.policy.add(submit, sink)) this.kick();
  }

  /** Cancels a request (client cancel, deadline). Its blocks are freed at once, or right after the step it is in. */
  cancel(requestId: string): void {
    this.policy.cancel(requestId);
  }

  /** Ids of the admitted requests: running, then waiting. */
  activeIds(): string[] {
    return this.policy.activeIds();
  }

  /**
   * Takes a request off this worker to go on elsewhere (see StepScheduler.handover):
   * resolves once it has left (its blocks freed, its full blocks cached) with
   * the tokens it knows and its cache salt; undefined when it is not here.
   */
  async handover(requestId: string): Promise<{ tokens: number[]; cacheSalt: string } | undefined> {
    const left = new Promise<void>((resolve) => this.leaving.set(requestId, resolve));
    const known = this.policy.handover(requestId);
    if (known === undefined) {
      this.leaving.delete(requestId);
      return undefined;
    }
    await left;
    return known;
  }

  /** Cancels every request (the end of a drain's grace period). */
  cancelAll(): void {
    this.policy.cancelAll();
  }

  /** Stops admitting new requests; resolves when every admitted request has finished. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.policy.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  private kick(): void {
    if (this.loop !== null) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      // A request submitted while the loop was winding down.
      if (this.policy.size > 0) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    const phases = this.stepPhaseMs;
    while (this.policy.size > 0) {
      let mark = performance.now();
      const plan = this.policy.schedule();
      phases.schedule += performance.now() - mark;
      if (plan.sequences.length > 0) {
        let output: StepOutput | undefined;
        // A chunk of more than one token is prompt (or replayed tokens) being computed; a decode computes one.
        const prefillTokens = plan.sequences.reduce((sum, s) => sum + (s.tokens.length > 1 ? s.tokens.length : 0), 0);
        const startedMs = performance.now();
        try {
          output = await this.options.runner.step(plan.sequences);
          if (prefillTokens >= MIN_PREFILL_SAMPLE_TOKENS) this.prefillRate.add((prefillTokens * 1000) / (performance.now() - startedMs));
        } catch (err) {
          this.options.onStepError?.(err);
          this.policy.fail(plan, err);
        }
        if (output !== undefined) {
          const timings = output.timings;
          if (timings !== undefined) {
            phases.dense += timings.denseMs;
            phases.attention += timings.attentionMs;
            phases.kvWrite += timings.kvWriteMs;
          } else {
            phases.dense += performance.now() - startedMs;
          }
          mark = performance.now();
          if (output.reads !== undefined) {
            this.attentionReadBytes.k += output.reads.kBytes;
            this.attentionReadBytes.vDevice += output.reads.vBytesDevice;
            this.attentionReadBytes.vHost += output.reads.vBytesHost;
            this.attentionReadBytes.vFullAttention += output.fullAttentionVBytes ?? output.reads.vBytesDevice + output.reads.vBytesHost;
          }
          this.policy.update(plan, output);
          phases.sample += performance.now() - mark;
        }
      }
      // Let gRPC reads, writes and cancellations in between steps.
      mark = performance.now();
      await yieldToEventLoop();
      phases.io += performance.now() - mark;
    }
  }
}
