/**
 * Relays one or more generations (the `n` choices of a request) as one SSE
 * stream, the part both endpoints share; each endpoint supplies how its
 * frames look (`StreamFrames`), every frame tagged with its choice index.
 *
 * The order is OpenAI's: an optional opening frame per choice (chat: the role
 * delta), one frame per non-empty text delta, as each choice's chunks arrive
 * (choices interleave), a final frame per choice with its finish reason and
 * stop reason, then, with `stream_options.include_usage`, once every choice
 * has finished, one frame with `choices: []` and the usage of all choices
 * (every other frame then carries `usage: null`), then `data: [DONE]`. A
 * chunk whose text is empty (a multi-byte character not yet complete) sends
 * nothing; its logprobs ride on the choice's next frame that has text, or on
 * its final one.
 *
 * An error after the stream began (the cluster gave up on any choice
 * mid-stream, a worker status) is sent as `data: {"error": {...}}` followed
 * by `data: [DONE]`, and the other choices are cancelled (`cancel`). If the
 * client has gone, nothing more is written: the aborted signal already
 * cancelled the worker calls.
 */
import type { inferencev1 } from "@sigmaserve/proto";
import type { DispatchEvent } from "../generate/dispatcher.js";
import { finishError, finishReasonOf, stopReasonOf, usageOfChoices, type Generation, type OpenAiFinishReason, type OpenAiUsage, type StopReason } from "./generation.js";
import type { RequestContext } from "./request-context.js";
import { SseStream } from "./sse.js";
import { toHttpError, type RenameField } from "./to-http-error.js";

export interface StreamFrames {
  /** Frame sent for each choice before any text (chat's `delta: {role: "assistant", content: ""}`). */
  opening?(index: number): object;
  /** Frame for a choice's text delta and the logprobs of the tokens that produced it. */
  delta(index: number, text: string, logprobs: readonly inferencev1.TokenLogprob[]): object;
  /** A choice's last frame: the finish reason, the stop reason, and logprobs still pending. */
  finish(index: number, reason: OpenAiFinishReason, stopReason: StopReason, logprobs: readonly inferencev1.TokenLogprob[]): object;
  /** The usage frame (`choices: []`). */
  usage(usage: OpenAiUsage): object;
}

export interface StreamOptions {
  includeUsage: boolean;
  renameField: RenameField;
  /** The request's stop_token_ids, for the stop reason. */
  stopTokenIds: readonly number[];
  /** Cancels every generation (called when one fails, so the others stop). */
  cancel(): void;
}

/** The events of all generations as they arrive, each with its generation's index. */
async function* interleave(generations: readonly Generation[]): AsyncGenerator<{ index: number; event: DispatchEvent }> {
  const iterators = generations.map((generation) => generation[Symbol.asyncIterator]());
  const pull = (index: number) => iterators[index]!.next().then((result) => ({ index, result }));
  const pending = new Map(iterators.map((_, index) => [index, pull(index)]));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done === true) {
        pending.delete(index);
        continue;
      }
      pending.set(index, pull(index));
      yield { index, event: result.value };
    }
  } finally {
    // Pulls still in flight when the relay stops settle after the cancel; their failures are not news.
    for (const inFlight of pending.values()) inFlight.catch(() => undefined);
  }
}

export async function streamGenerations(ctx: RequestContext, generations: readonly Generation[], frames: StreamFrames, options: StreamOptions): Promise<void> {
  const sse = new SseStream(ctx.res);
  const withUsage = (frame: object): object => (options.includeUsage ? { ...frame, usage: null } : frame);
  const pending: inferencev1.TokenLogprob[][] = generations.map(() => []);
  const finishes: inferencev1.GenerateFinish[] = [];
  let failed = false;
  try {
    if (frames.opening !== undefined) for (let index = 0; index < generations.length; index++) await sse.send(withUsage(frames.opening(index)));
    for await (const { index, event } of interleave(generations)) {
      if (!sse.open) return;
      if (event.kind === "chunk") {
        pending[index]!.push(...event.chunk.logprobs);
        if (event.chunk.textDelta === "") continue;
        await sse.send(withUsage(frames.delta(index, event.chunk.textDelta, pending[index]!)));
        pending[index] = [];
        continue;
      }
      const error = finishError(event.finish);
      if (error !== null) {
        failed = true;
        options.cancel();
        await sse.sendError(error);
        break;
      }
      finishes[index] = event.finish;
      await sse.send(withUsage(frames.finish(index, finishReasonOf(event.finish), stopReasonOf(event.finish, options.stopTokenIds), pending[index]!)));
    }
    if (!failed && options.includeUsage && finishes.filter(Boolean).length === generations.length) await sse.send(frames.usage(usageOfChoices(finishes)));
  } catch (err) {
    options.cancel();
    if (ctx.signal.aborted || !sse.open) return;
    const error = toHttpError(err, options.renameField);
    ctx.logger.warn({ err: error.message, status: error.status }, "generation failed after the stream began");
    await sse.sendError(error);
  }
  await sse.done();
}
