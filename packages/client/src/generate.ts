/**
 * Generate as an async iterator of events, with retries before the first message.
 *
 * An attempt that fails with UNAVAILABLE before the stream delivered anything
 * is tried again after a backoff (retry.ts). Once a message has arrived the
 * attempt is committed: any later failure surfaces as is, because the router
 * already fails over mid-stream and a client-side retry would start the
 * completion over under tokens the caller has already consumed. Stopping the
 * iteration early (`break`) cancels the call on the server.
 *
 * A stream that fails after it began ends, from the router, with a finish
 * whose finish_reason is ERROR (it carries the usage) and then a non-OK status
 * that names the cause. NOTE: the caller gets that as ONE error: the error
 * finish is held back and the iteration rejects with the status's typed error
 * (UnavailableError, InternalError), the held finish attached as `err.finish`.
 * An error finish followed by OK (a server that predates the status, or a
 * worker's own error finish) is still yielded as a finish event, as before.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions as GrpcCallOptions, inferencev1 } from "@sigmaserve/proto";
import { attemptFailure, attemptOptions, type CallScope } from "./call.js";
import { StreamReader, type FinishEvent, type GenerateEvent } from "./events.js";
import type { RetryOptions } from "./options.js";
import { isRetryable, waitBeforeRetry } from "./retry.js";

/** The adapter's Generate method. */
export type GenerateRpc = (
  request: MessageInitShape<typeof inferencev1.GenerateRequestSchema>,
  options?: GrpcCallOptions,
) => AsyncIterable<inferencev1.GenerateResponse>;

/**
 * Streams the events of one Generate call. `request` is built lazily, on the
 * first `next()`, so that a request the SDK refuses rejects the iteration
 * rather than throwing from `generate()` itself.
 */
export async function* generateEvents(
  rpc: GenerateRpc,
  request: () => MessageInitShape<typeof inferencev1.GenerateRequestSchema>,
  policy: Readonly<RetryOptions>,
  scope: CallScope,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const message = request();
  for (let attempt = 1; ; attempt++) {
    const reader = new StreamReader();
    let received = false;
    /** An error finish, held until the status says whether it ends OK (yielded) or not (attached to the error). */
    let errorFinish: FinishEvent | undefined;
    try {
      for await (const response of rpc(message, attemptOptions(scope))) {
        received = true;
        const event = reader.read(response);
        if (event.type === "finish" && event.finishReason === "error") errorFinish = event;
        else yield event;
      }
      reader.end();
      if (errorFinish !== undefined) yield errorFinish;
      return;
    } catch (err) {
      const failure = attemptFailure(err, scope);
      if (errorFinish !== undefined && failure.finish === undefined) failure.finish = errorFinish;
      if (received || !isRetryable(failure) || attempt >= policy.maxAttempts) throw failure;
      await waitBeforeRetry(attempt, policy, scope, failure);
    }
  }
}
