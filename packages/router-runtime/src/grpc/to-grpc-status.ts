/**
 * The router's one mapping from typed errors to gRPC statuses (docs/errors.md).
 * Bad fields are INVALID_ARGUMENT with a google.rpc.BadRequest detail in the
 * `grpc-status-details-bin` trailer (public field paths); the SDK reads it as
 * `fieldViolations`.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { GrpcStatusError, setBadRequest, type ToStatus } from "@sigmaserve/proto";
import { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, StreamFailedError, TenantLimitError, UnknownModelError } from "../errors.js";

/** Trailer carrying the retry-after hint of a RESOURCE_EXHAUSTED, ms (the SDK reads it). */
export const RETRY_AFTER_MS_METADATA = "retry-after-ms";

export const toGrpcStatus: ToStatus = (err) => {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.details, metadata: err.metadata };
  if (err instanceof InvalidRequestError) {
    const metadata = err.violations.length === 0 ? new Metadata() : setBadRequest(status.INVALID_ARGUMENT, err.message, err.violations);
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (err instanceof UnknownModelError) {
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata: setBadRequest(status.INVALID_ARGUMENT, err.message, [{ field: "model", description: err.rule }]) };
  }
  if (err instanceof AuthenticationError) return { code: status.UNAUTHENTICATED, details: err.message };
  if (err instanceof OverloadedError || err instanceof TenantLimitError) {
    const metadata = new Metadata();
    metadata.set(RETRY_AFTER_MS_METADATA, String(err.retryAfterMs));
    return { code: status.RESOURCE_EXHAUSTED, details: err.message, metadata };
  }
  if (err instanceof NoWorkerError) return { code: status.UNAVAILABLE, details: err.message };
  if (err instanceof StreamFailedError) return { code: err.kind === "internal" ? status.INTERNAL : status.UNAVAILABLE, details: err.message };
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
};
