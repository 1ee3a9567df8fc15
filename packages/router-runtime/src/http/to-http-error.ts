/**
 * The HTTP door's one mapping from typed errors to OpenAI error responses,
 * the twin of grpc/to-grpc-status.ts (docs/errors.md has one row per error):
 *
 * | error                                   | status | type / code                                  |
 * |-----------------------------------------|--------|----------------------------------------------|
 * | OpenAiError (body, routing, limits)     | its own| its own                                      |
 * | InvalidRequestError                     | 400    | invalid_request_error, param = its 1st field |
 * | UnknownModelError                       | 404    | invalid_request_error / model_not_found      |
 * | AuthenticationError                     | 401    | authentication_error / invalid_api_key       |
 * | OverloadedError                         | 429    | rate_limit_error, Retry-After in seconds (up)|
 * | TenantLimitError                        | 429    | rate_limit_error, Retry-After in seconds (up)|
 * | NoWorkerError                           | 503    | server_error / no_worker, Retry-After: 2      |
 * | INVALID_ARGUMENT, OUT_OF_RANGE status   | 400    | param from its BadRequest detail, if any     |
 * | worker RESOURCE_EXHAUSTED               | 429    | rate_limit_error, Retry-After                |
 * | worker UNAVAILABLE                      | 503    | server_error / worker_unavailable, R-A: 2    |
 * | worker DEADLINE_EXCEEDED                | 504    | timeout_error / deadline_exceeded            |
 * | anything else                           | 500    | server_error / internal_error                |
 *
 * Field violations arrive structured (`{field, description}`, the public
 * gRPC request's paths: `sampling.top_p`, `token_ids.ids[3]`, `text`), never
 * parsed out of a message. Those are not the names an OpenAI client sent;
 * each endpoint passes a `renameField` that turns them into its own (`top_p`,
 * `prompt[3]`, `messages`), and the message is built from the renamed field
 * and the description.
 */
import { status } from "@grpc/grpc-js";
import { fieldViolationsOf, isGrpcStatusError, type FieldViolation, type GrpcStatusError } from "@sigmaserve/proto";
import { DEFAULT_RETRY_AFTER_MS } from "../admission/admission-controller.js";
import { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, TenantLimitError, UnknownModelError } from "../errors.js";
import { RETRY_AFTER_MS_METADATA } from "../grpc/to-grpc-status.js";
import { OpenAiError } from "./openai-error.js";

/** Turns a public gRPC field path (`sampling.top_p`) into the one the client sent (`top_p`); null when the client has no such field. */
export type RenameField = (field: string) => string | null;

const SAMPLING = "sampling.";
const TOKEN_IDS = "token_ids.ids";

/** The default renaming: drop the `sampling.` prefix; every form of the prompt becomes `prompt` (`prompt[3]` for one token id). */
export const defaultRenameField: RenameField = (field) => {
  if (field.startsWith(SAMPLING)) return field.slice(SAMPLING.length);
  // Keep an index into a token-id prompt: `token_ids.ids[3]` → `prompt[3]`.
  if (field.startsWith(`${TOKEN_IDS}[`)) return `prompt${field.slice(TOKEN_IDS.length)}`;
  if (field === "prompt" || field === "text" || field === "token_ids" || field === TOKEN_IDS) return "prompt";
  // `messages` is the chat door's own name (a rendered conversation too long for the context).
  if (field === "model" || field === "priority" || field === "messages") return field;
  return null;
};

/**
 * A 400 for `violations`: `param` is the first field the client knows by
 * name, the message lists each as "name: description" (the internal path when
 * the client has no such field). With no violations, `fallback` is the message.
 */
function invalidFields(violations: readonly FieldViolation[], fallback: string, renameField: RenameField, cause: unknown): OpenAiError {
  if (violations.length === 0) return new OpenAiError(400, fallback, "invalid_request_error", null, null, {}, { cause });
  const named = violations.map((v) => ({ param: renameField(v.field), field: v.field, description: v.description }));
  const message = named.map((v) => `${v.param ?? v.field}: ${v.description}`).join("; ");
  return new OpenAiError(400, message, "invalid_request_error", named.find((v) => v.param !== null)?.param ?? null, null, {}, { cause });
}

/**
 * Retry-After on a 503 (no worker, or the worker unavailable), seconds: a worker that registers or comes back
 * heartbeats within DEFAULT_HEARTBEAT_INTERVAL_MS (2 s), so a retry after that sees it.
 */
export const UNAVAILABLE_RETRY_AFTER_S = "2";

/** Seconds for a Retry-After header: the hint in ms, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

function fromWorkerStatus(err: GrpcStatusError, renameField: RenameField): OpenAiError {
  switch (err.code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return invalidFields(fieldViolationsOf(err), err.details, renameField, err);
    case status.RESOURCE_EXHAUSTED: {
      const hintMs = Number(err.metadata.get(RETRY_AFTER_MS_METADATA)[0] ?? DEFAULT_RETRY_AFTER_MS);
      const retryAfter = retryAfterSeconds(Number.isFinite(hintMs) ? hintMs : DEFAULT_RETRY_AFTER_MS);
      return new OpenAiError(429, err.details, "rate_limit_error", null, "rate_limit_exceeded", { "retry-after": retryAfter }, { cause: err });
    }
    case status.UNAVAILABLE:
      return new OpenAiError(503, err.details, "server_error", null, "worker_unavailable", { "retry-after": UNAVAILABLE_RETRY_AFTER_S }, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new OpenAiError(504, err.details, "timeout_error", null, "deadline_exceeded", {}, { cause: err });
    default:
      return new OpenAiError(500, `${status[err.code] ?? err.code}: ${err.details}`, "server_error", null, "internal_error", {}, { cause: err });
  }
}

export function toHttpError(err: unknown, renameField: RenameField = defaultRenameField): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (err instanceof InvalidRequestError) return invalidFields(err.violations, err.message, renameField, err);
  if (err instanceof UnknownModelError) return new OpenAiError(404, err.message, "invalid_request_error", "model", "model_not_found", {}, { cause: err });
  if (err instanceof AuthenticationError) return new OpenAiError(401, err.message, "authentication_error", null, "invalid_api_key", {}, { cause: err });
  if (err instanceof OverloadedError || err instanceof TenantLimitError) {
    return new OpenAiError(429, err.message, "rate_limit_error", null, "rate_limit_exceeded", { "retry-after": retryAfterSeconds(err.retryAfterMs) }, { cause: err });
  }
  if (err instanceof NoWorkerError) return new OpenAiError(503, err.message, "server_error", null, "no_worker", { "retry-after": UNAVAILABLE_RETRY_AFTER_S }, { cause: err });
  if (isGrpcStatusError(err)) return fromWorkerStatus(err, renameField);
  const message = err instanceof Error ? err.message : String(err);
  return new OpenAiError(500, `internal error: ${message}`, "server_error", null, "internal_error", {}, { cause: err });
}
