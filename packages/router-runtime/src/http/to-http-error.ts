/**
 * The HTTP door's one mapping from typed errors to OpenAI error responses,
 * the twin of grpc/to-grpc-status.ts (docs/errors.md has one row per error):
 *
 * | error                                   | status | type / code                                  |
 * |-----------------------------------------|--------|----------------------------------------------|
 * | OpenAiError (body, routing, limits)     | its own| its own                                      |
 * | InvalidRequestError                     | 400    | invalid_request_error, param = its field     |
 * | UnknownModelError                       | 404    | invalid_request_error / model_not_found      |
 * | AuthenticationError                     | 401    | authentication_error / invalid_api_key       |
 * | OverloadedError                         | 429    | rate_limit_error, Retry-After in seconds (up)|
 * | NoWorkerError                           | 503    | server_error / no_worker                     |
 * | worker INVALID_ARGUMENT, OUT_OF_RANGE   | 400    | param from the details' "field: rule" prefix |
 * | worker RESOURCE_EXHAUSTED               | 429    | rate_limit_error, Retry-After                |
 * | worker UNAVAILABLE                      | 503    | server_error / worker_unavailable            |
 * | worker DEADLINE_EXCEEDED                | 504    | timeout_error / deadline_exceeded            |
 * | anything else                           | 500    | server_error / internal_error                |
 *
 * Field names inside the cluster (`sampling.top_p`, `prompt.token_ids`,
 * `prompt_token_ids[3]`) are not the names the client sent; each endpoint
 * passes a `renameField` that turns them into its own (`top_p`, `prompt`,
 * `messages`), and the message is rewritten to start with that name.
 */
import { status } from "@grpc/grpc-js";
import { isGrpcStatusError, type GrpcStatusError } from "@sigmaserve/proto";
import { DEFAULT_RETRY_AFTER_MS } from "../admission/admission-controller.js";
import { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, UnknownModelError } from "../errors.js";
import { RETRY_AFTER_MS_METADATA } from "../grpc/to-grpc-status.js";
import { OpenAiError } from "./openai-error.js";

/** Turns an internal field name (`sampling.top_p`) into the one the client sent (`top_p`); null when the client has no such field. */
export type RenameField = (field: string) => string | null;

/** The default renaming: drop the `sampling.` prefix; the prompt's forms all become `prompt`. */
export const defaultRenameField: RenameField = (field) => {
  if (field === "prompt" || field.startsWith("prompt.") || field.startsWith("prompt_token_ids")) {
    // Keep an index into a token-id prompt: `prompt_token_ids[3]` → `prompt[3]`.
    const index = /^prompt(?:\.token_ids|_token_ids)(\[\d+\])$/.exec(field)?.[1];
    return index === undefined ? "prompt" : `prompt${index}`;
  }
  if (field.startsWith("sampling.")) return field.slice("sampling.".length);
  if (field === "model") return "model";
  return null;
};

/** The "field: rule" prefix of a worker's INVALID_ARGUMENT details, or null when the details do not start with one. */
export function fieldOfDetails(details: string): { field: string; rule: string } | null {
  const match = /^([A-Za-z_][\w.]*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)$/s.exec(details);
  return match === null ? null : { field: match[1]!, rule: match[2]! };
}

/** Seconds for a Retry-After header: the hint in ms, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

function invalidField(field: string, rule: string, renameField: RenameField): OpenAiError {
  const param = renameField(field);
  return OpenAiError.invalid(param, param === null ? `${field}: ${rule}` : `${param}: ${rule}`);
}

function fromWorkerStatus(err: GrpcStatusError, renameField: RenameField): OpenAiError {
  switch (err.code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE: {
      const parsed = fieldOfDetails(err.details);
      return parsed === null ? OpenAiError.invalid(null, err.details) : invalidField(parsed.field, parsed.rule, renameField);
    }
    case status.RESOURCE_EXHAUSTED: {
      const hintMs = Number(err.metadata.get(RETRY_AFTER_MS_METADATA)[0] ?? DEFAULT_RETRY_AFTER_MS);
      const retryAfter = retryAfterSeconds(Number.isFinite(hintMs) ? hintMs : DEFAULT_RETRY_AFTER_MS);
      return new OpenAiError(429, err.details, "rate_limit_error", null, "rate_limit_exceeded", { "retry-after": retryAfter }, { cause: err });
    }
    case status.UNAVAILABLE:
      return new OpenAiError(503, err.details, "server_error", null, "worker_unavailable", {}, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new OpenAiError(504, err.details, "timeout_error", null, "deadline_exceeded", {}, { cause: err });
    default:
      return new OpenAiError(500, `${status[err.code] ?? err.code}: ${err.details}`, "server_error", null, "internal_error", {}, { cause: err });
  }
}

export function toHttpError(err: unknown, renameField: RenameField = defaultRenameField): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (err instanceof InvalidRequestError) {
    const parsed = fieldOfDetails(err.message);
    return invalidField(err.field, parsed?.rule ?? err.message, renameField);
  }
  if (err instanceof UnknownModelError) return new OpenAiError(404, err.message, "invalid_request_error", "model", "model_not_found", {}, { cause: err });
  if (err instanceof AuthenticationError) return new OpenAiError(401, err.message, "authentication_error", null, "invalid_api_key", {}, { cause: err });
  if (err instanceof OverloadedError) {
    return new OpenAiError(429, err.message, "rate_limit_error", null, "rate_limit_exceeded", { "retry-after": retryAfterSeconds(err.retryAfterMs) }, { cause: err });
  }
  if (err instanceof NoWorkerError) return new OpenAiError(503, err.message, "server_error", null, "no_worker", {}, { cause: err });
  if (isGrpcStatusError(err)) return fromWorkerStatus(err, renameField);
  const message = err instanceof Error ? err.message : String(err);
  return new OpenAiError(500, `internal error: ${message}`, "server_error", null, "internal_error", {}, { cause: err });
}
