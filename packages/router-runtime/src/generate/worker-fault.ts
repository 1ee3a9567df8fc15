/**
 * A worker's INVALID_ARGUMENT in the public request's words. The worker names
 * fields of its own request (`prompt_token_ids[3]`, `sampling.top_p`); the
 * client sent a `sigmaserve.v1.GenerateRequest` (`token_ids.ids[3]`, or
 * `text`, whose token positions it never saw). The status stays the worker's,
 * with its violations renamed, as the router's InvalidRequestError, so both
 * doors map it once like their own refusals. It is never retried elsewhere
 * (dispatcher.ts): the same request fails the same way on any worker.
 */
import { status } from "@grpc/grpc-js";
import { fieldViolationsOf, isGrpcStatusError, type inferencev1 } from "@sigmaserve/proto";
import { InvalidRequestError } from "../errors.js";

const WORKER_PROMPT = "prompt_token_ids";

/** The public path of a worker request field; fields the router made itself (request_id, generated_token_ids) keep their names. */
export function publicFieldOf(workerField: string, promptCase: inferencev1.GenerateRequest["prompt"]["case"]): string {
  if (workerField === WORKER_PROMPT || workerField.startsWith(`${WORKER_PROMPT}[`)) {
    // `[3]` of prompt_token_ids is the client's index only when it sent token ids.
    return promptCase === "tokenIds" ? `token_ids.ids${workerField.slice(WORKER_PROMPT.length)}` : "text";
  }
  return workerField;
}

/** `err` as the client should see it: a worker's INVALID_ARGUMENT becomes an InvalidRequestError with public paths; anything else is unchanged. */
export function publicFault(err: unknown, request: inferencev1.GenerateRequest): unknown {
  if (!isGrpcStatusError(err) || err.code !== status.INVALID_ARGUMENT) return err;
  const violations = fieldViolationsOf(err).map((v) => ({ field: publicFieldOf(v.field, request.prompt.case), description: v.description }));
  // Without a BadRequest (a request the wire could not carry) only the message is left.
  return new InvalidRequestError(violations, { cause: err, ...(violations.length === 0 ? { message: err.details } : {}) });
}
