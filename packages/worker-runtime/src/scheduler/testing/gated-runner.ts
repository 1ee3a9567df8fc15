/**
 * A fake model runner whose steps end when the test says so: each `step()`
 * returns a promise the test resolves (`complete`) or rejects (`fail`), so a
 * test orders events by the loop's own progress, never by sleeping (or, with
 * `autoComplete`, each step completes at once). The
 * output is the step bench's fake model (next token = last token + 1).
 */
import type { StepSequence } from "@sigmaserve/engine";
import type { BatchRunner } from "../scheduler.js";
import type { StepOutput } from "../step-scheduler.js";
import { fakeModelOutput } from "./step-bench.js";

interface PendingStep {
  sequences: readonly StepSequence[];
  resolve: (output: StepOutput) => void;
  reject: (err: unknown) => void;
}

export class GatedRunner implements BatchRunner {
  /** Every step's sequences, as [request id, start position, tokens] rows. */
  readonly steps: [string, number, number][][] = [];
  /** When true, a step completes as soon as it begins. */
  autoComplete = false;
  private pending: PendingStep | undefined;
  private waiters: { step: number; resolve: () => void }[] = [];

  step(sequences: readonly StepSequence[]): Promise<StepOutput> {
    if (this.pending !== undefined) throw new Error("gated runner: a step began while another was running");
    this.steps.push(sequences.map((s) => [s.requestId, s.startPosition, s.tokens.length]));
    if (this.autoComplete) return Promise.resolve(fakeModelOutput(sequences));
    const promise = new Promise<StepOutput>((resolve, reject) => (this.pending = { sequences, resolve, reject }));
    for (const waiter of this.waiters.filter((w) => w.step <= this.steps.length)) waiter.resolve();
    this.waiters = this.waiters.filter((w) => w.step > this.steps.length);
    return promise;
  }

  /** Resolves once step `n` (1-based) has begun. */
  started(n: number): Promise<void> {
    if (this.steps.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ step: n, resolve }));
  }

  /** Ends the running step with the fake model's output. */
  complete(): void {
    const pending = this.take();
    pending.resolve(fakeModelOutput(pending.sequences));
  }

  /** Ends the running step with an error. */
  fail(err: unknown): void {
    this.take().reject(err);
  }

  private take(): PendingStep {
    const pending = this.pending;
    if (pending === undefined) throw new Error("gated runner: no step is running");
    this.pending = undefined;
    return pending;
  }
}
