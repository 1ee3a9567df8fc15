/**
 * What a handler knows about its call besides the request.
 *
 * `signal` aborts when the client cancels, the deadline passes or the
 * connection drops: handlers pass it down so that work (and KV blocks) is
 * released at once rather than when the next write fails.
 */
import type { Deadline, Metadata } from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";

/** The part of every grpc-js server call this module reads. */
type ServerCall = EventEmitter & {
  readonly cancelled: boolean;
  readonly metadata: Metadata;
  getDeadline(): Deadline;
  getPeer(): string;
  sendMetadata(metadata: Metadata): void;
};

export interface HandlerContext {
  /** Aborted when the call ends early: client cancel, deadline or disconnect. */
  readonly signal: AbortSignal;
  /** The call's deadline as a Unix time in milliseconds, or Infinity when none was set. */
  readonly deadlineUnixMs: number;
  /** Request metadata (headers), e.g. `authorization`. */
  readonly metadata: Metadata;
  /** The peer's address, for logs. */
  readonly peer: string;
  /** The full method path, e.g. `/sigmaserve.v1.InferenceService/Generate`. */
  readonly path: string;
  /** Sends response headers before the first message (at most once). */
  sendHeaders(metadata: Metadata): void;
}

function deadlineToUnixMs(deadline: Deadline): number {
  if (deadline instanceof Date) return deadline.getTime();
  return Number.isFinite(deadline) ? deadline : Infinity;
}

/**
 * Builds the context of a grpc-js server call; the controller aborts on 'cancelled'. `release` stops listening:
 * call it once the handler has settled, because grpc-js also emits 'cancelled' when the stream of a call that
 * ended normally closes, and aborting then (an Error and an abort event per call) is pure cost.
 */
export function handlerContext(call: ServerCall, path: string): { context: HandlerContext; release(): void; abort(reason: Error): void } {
  const controller = new AbortController();
  // grpc-js emits 'cancelled' for client cancels, passed deadlines and resets.
  const onCancelled = (): void => controller.abort(new Error(`call ${path} cancelled by the client or its deadline`));
  call.once("cancelled", onCancelled);
  if (call.cancelled) controller.abort(new Error(`call ${path} cancelled before it started`));
  let headersSent = false;
  return {
    context: {
      signal: controller.signal,
      deadlineUnixMs: deadlineToUnixMs(call.getDeadline()),
      metadata: call.metadata,
      peer: call.getPeer(),
      path,
      sendHeaders(metadata) {
        if (headersSent) return;
        headersSent = true;
        call.sendMetadata(metadata);
      },
    },
    release: () => void call.off("cancelled", onCancelled),
    // The server's own reason to stop a handler (a client that stopped reading: bind-service.ts).
    abort: (reason) => controller.abort(reason),
  };
}
