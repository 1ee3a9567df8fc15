/**
 * Relays a generation as an SSE stream, the part both endpoints share; each
 * endpoint supplies how its frames look (`StreamFrames`).
 *
 * The order is OpenAI's: an optional opening frame (chat: the role delta),
 * one frame per non-empty text delta, a final frame with the finish reason,
 * then, with `stream_options.include_usage`, a frame with `choices: []` and
 * the usage (every other frame then carries `usage: null`), then
 * `data: [DONE]`. A chunk whose text is empty (a multi-byte character not yet
 * complete) sends nothing; its logprobs ride on the next frame that has text,
 * or on the final one.
 *
 * An error after the stream began (the cluster gave up mid-stream, a worker
 * status) is sent as `data: {"error": {...}}` followed by `data: [DONE]`. If
 * the client has gone, nothing more is written: the aborted signal already
 * cancelled the worker call.
 */
import type { inferencev1 } from "@sigmaserve/proto";
import { finishError, finishReasonOf, usageOf, type Generation, type OpenAiFinishReason, type OpenAiUsage } from "./generation.js";
import type { RequestContext } from "./request-context.js";
import { SseStream } from "./sse.js";
import { toHttpError, type RenameField } from "./to-http-error.js";

export interface StreamFrames {
  /** Frame sent before the first text (chat's `delta: {role: "assistant", content: ""}`). */
  opening?(): object;
  /** Frame for a text delta and the logprobs of the tokens that produced it. */
  delta(text: string, logprobs: readonly inferencev1.TokenLogprob[]): object;
  /** The last choice frame: the finish reason, and logprobs still pending. */
  finish(reason: OpenAiFinishReason, logprobs: readonly inferencev1.TokenLogprob[]): object;
  /** The usage frame (`choices: []`). */
  usage(usage: OpenAiUsage): object;
}

export async function streamGeneration(
  ctx: RequestContext,
  generation: Generation,
  frames: StreamFrames,
  options: { includeUsage: boolean; renameField: RenameField },
): Promise<void> {
  const sse = new SseStream(ctx.res);
  const withUsage = (frame: object): object => (options.includeUsage ? { ...frame, usage: null } : frame);
  let pending: inferencev1.TokenLogprob[] = [];
  try {
    if (frames.opening !== undefined) await sse.send(withUsage(frames.opening()));
    for await (const event of generation) {
      if (!sse.open) return;
      if (event.kind === "chunk") {
        pending.push(...event.chunk.logprobs);
        if (event.chunk.textDelta === "") continue;
        await sse.send(withUsage(frames.delta(event.chunk.textDelta, pending)));
        pending = [];
        continue;
      }
      const error = finishError(event.finish);
      if (error !== null) {
        await sse.sendError(error);
        break;
      }
      await sse.send(withUsage(frames.finish(finishReasonOf(event.finish), pending)));
      if (options.includeUsage) await sse.send(frames.usage(usageOf(event.finish)));
      break;
    }
  } catch (err) {
    if (ctx.signal.aborted || !sse.open) return;
    const error = toHttpError(err, options.renameField);
    ctx.logger.warn({ err: error.message, status: error.status }, "generation failed after the stream began");
    await sse.sendError(error);
  }
  await sse.done();
}
