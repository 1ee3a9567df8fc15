/**
 * The worker's one mapping from typed errors to gRPC statuses (docs/errors.md).
 * Everything a client can cause is INVALID_ARGUMENT with a google.rpc.BadRequest
 * detail naming the field (paths of the worker's request: `prompt_token_ids[3]`,
 * `sampling.top_p`); the message reads "field: rule" for people. Anything
 * unknown is INTERNAL and logged by the caller.
 */
import { SamplingParamsError } from "@sigmaserve/engine";
import { GrpcStatusError, HANDOVER_TARGET_METADATA, setBadRequest, type ToStatus } from "@sigmaserve/proto";
import { Metadata, status } from "@grpc/grpc-js";
import { DrainingError, DuplicateRequestError, HandedOverError, InvalidRequestError, MigrationLeaseError } from "../errors.js";

export const toGrpcStatus: ToStatus = (err) => {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.details, metadata: err.metadata };
  if (err instanceof InvalidRequestError || err instanceof SamplingParamsError) {
    const metadata = setBadRequest(status.INVALID_ARGUMENT, err.message, [{ field: err.field, description: err.rule }]);
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (err instanceof DrainingError) return { code: status.UNAVAILABLE, details: err.message };
  if (err instanceof HandedOverError) {
    const metadata = new Metadata();
    if (err.targetWorkerId !== null) metadata.set(HANDOVER_TARGET_METADATA, err.targetWorkerId);
    return { code: status.UNAVAILABLE, details: err.message, metadata };
  }
  if (err instanceof DuplicateRequestError) return { code: status.ALREADY_EXISTS, details: err.message };
  if (err instanceof MigrationLeaseError) return { code: err.problem === "unknown" ? status.NOT_FOUND : status.FAILED_PRECONDITION, details: err.message };
  return { code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
};
