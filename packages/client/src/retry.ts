/**
 * The retry policy: UNAVAILABLE only, exponential backoff with full jitter.
 *
 * UNAVAILABLE means no server took the call (connection refused, a draining
 * router, no ready worker), so trying again cannot run a request twice.
 * Unary calls (Tokenize, ListModels) retry on it; Generate retries on it only
 * until the first message of the stream arrives (generate.ts), because after
 * that the router already does mid-stream failover and a client retry would
 * replay tokens the caller has seen. RESOURCE_EXHAUSTED is never retried: it
 * surfaces as RateLimitedError with the server's hint, and waiting is the
 * caller's decision. Wait n (1-based) is uniform in
 * [0, min(maxBackoffMs, initialBackoffMs · 2^(n-1))), as in gRPC's retry
 * design (A6), so that clients that failed together do not retry together.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { abortedError, attemptFailure, type CallScope } from "./call.js";
import { UnavailableError, type SigmaserveError } from "./errors.js";
import type { RetryOptions } from "./options.js";

/** The wait before retry number `retry` (1 = the wait after the first attempt), ms. `random` is in [0, 1). */
export function backoffDelayMs(retry: number, policy: Readonly<RetryOptions>, random: () => number = Math.random): number {
  const capMs = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (retry - 1));
  return random() * capMs;
}

/** True when an attempt that failed with `err` may be tried again (before any stream message, for Generate). */
export function isRetryable(err: SigmaserveError): boolean {
  return err instanceof UnavailableError;
}

/**
 * Waits out the backoff after attempt `attempt` failed with `lastError`.
 * NOTE: when the call's deadline would pass during the wait, no further
 * attempt could run, so `lastError` (what actually went wrong) is thrown at
 * once rather than a DeadlineExceededError after a pointless sleep.
 */
export async function waitBeforeRetry(
  attempt: number,
  policy: Readonly<RetryOptions>,
  scope: CallScope,
  lastError: SigmaserveError,
  random: () => number = Math.random,
): Promise<void> {
  const delayMs = backoffDelayMs(attempt, policy, random);
  if (Date.now() + delayMs >= scope.deadlineUnixMs) throw lastError;
  try {
    await sleep(delayMs, undefined, scope.signal === undefined ? undefined : { signal: scope.signal });
  } catch (err) {
    if (scope.signal?.aborted === true) throw abortedError(scope.signal);
    throw err;
  }
}

/** Runs a unary call, retrying it on UNAVAILABLE up to `policy.maxAttempts` attempts in all. */
export async function withRetry<T>(policy: Readonly<RetryOptions>, scope: CallScope, attempt: (attempt: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const failure = attemptFailure(err, scope);
      if (!isRetryable(failure) || n >= policy.maxAttempts) throw failure;
      await waitBeforeRetry(n, policy, scope, failure);
    }
  }
}
