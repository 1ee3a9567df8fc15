/**
 * Generate as an async iterator of events, with retries before the first message.
 *
 * An attempt that fails with UNAVAILABLE before the stream delivered anything
 * is tried again after a backoff (retry.ts). Once a message has arrived the
 * attempt is committed: any later failure surfaces as is, because the router
 * already fails over mid-stream and a client-side retry would start the
 * completion over under tokens the caller has already consumed. Stopping the
 * iteration early (`break`) cancels the call on the server.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions as GrpcCallOptions, inferencev1 } from "@sigmaserve/proto";
import { attemptFailure, attemptOptions, type CallScope } from "./call.js";
import { StreamReader, type GenerateEvent } from "./events.js";
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
    try {
      for await (const response of rpc(message, attemptOptions(scope))) {
        received = true;
        yield reader.read(response);
      }
      reader.end();
      return;
    } catch (err) {
      const failure = attemptFailure(err, scope);
      if (received || !isRetryable(failure) || attempt >= policy.maxAttempts) throw failure;
      await waitBeforeRetry(attempt, policy, scope, failure);
    }
  }
}
