/**
 * @sigmaserve/client: the public gRPC SDK of a sigmaserve cluster.
 *
 * `createClient({ address, apiKey })` returns a client whose `generate` streams
 * events as an async iterator and whose failures are typed `SigmaserveError`s.
 */
export { createClient, type ModelInfo, type SigmaserveClient, type TokenizeOptions, type TokenizeResult } from "./client.js";
export { REQUEST_ID_METADATA_KEY, type CallOptions } from "./call.js";
export type { Completion } from "./complete.js";
export {
  CancelledError,
  ClientOptionsError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  RateLimitedError,
  RETRY_AFTER_METADATA_KEY,
  SigmaserveError,
  UnauthenticatedError,
  UnavailableError,
  toSigmaserveError,
  type FieldViolation,
  type StatusName,
} from "./errors.js";
export type { ChunkEvent, FinishEvent, FinishReason, GenerateEvent, Timings, TokenLogprob, TopLogprob, Usage } from "./events.js";
export {
  DEFAULT_INITIAL_BACKOFF_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BACKOFF_MS,
  type ClientOptions,
  type RetryOptions,
  type TlsOptions,
} from "./options.js";
export type { GenerateRequest } from "./request.js";
