/**
 * Field violations on the wire, in gRPC's richer error model: the status
 * carries a `google.rpc.Status` (same code and message) whose `details` hold
 * one `google.rpc.BadRequest`, serialised into the trailing metadata key
 * `grpc-status-details-bin`. grpc-js passes that trailer both ways, and
 * clients in other languages read it with their stock helpers
 * (`status.FromError(err).Details()` in Go, `rpc_status.from_call` in Python).
 *
 * A field path is the request's proto field names joined by dots, with list
 * indices in brackets: `sampling.temperature`, `prompt.token_ids[3]`,
 * `sampling.stop[2]`. The human message (`details`) still reads
 * "field: rule" for logs and people; programs read the violations, never the
 * message.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Metadata, status } from "@grpc/grpc-js";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { GrpcStatusError, type GrpcStatusCode } from "./grpc-status-error.js";

/** The trailer that carries a serialised google.rpc.Status (gRPC's well-known key). */
export const STATUS_DETAILS_METADATA_KEY = "grpc-status-details-bin";

/** One bad field: its path in the request and the rule it broke. */
export interface FieldViolation {
  /** Path of proto field names, e.g. `sampling.top_p` or `prompt.token_ids[3]`. */
  readonly field: string;
  /** The rule it broke and what was sent, e.g. `must be in (0, 1], got 2`. */
  readonly description: string;
}

/** "a: rule; b: rule": the status message for a list of violations. */
export function describeViolations(violations: readonly FieldViolation[]): string {
  return violations.map((v) => `${v.field}: ${v.description}`).join("; ");
}

/**
 * Writes a google.rpc.Status {code, message, details: [BadRequest]} into
 * `metadata` (a new Metadata when none is given) and returns it. The code and
 * message must be the ones the call ends with, as the model requires.
 */
export function setBadRequest(code: GrpcStatusCode, message: string, violations: readonly FieldViolation[], metadata: Metadata = new Metadata()): Metadata {
  const badRequest = create(BadRequestSchema, { fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })) });
  const rpcStatus = create(StatusSchema, { code, message, details: [anyPack(BadRequestSchema, badRequest)] });
  metadata.set(STATUS_DETAILS_METADATA_KEY, Buffer.from(toBinary(StatusSchema, rpcStatus)));
  return metadata;
}

/**
 * INVALID_ARGUMENT carrying `violations` as BadRequest details; the message
 * defaults to "field: rule; ...". A handler throws it, or an app's `toStatus`
 * maps its typed field errors to it.
 */
export function badRequestError(violations: readonly FieldViolation[], options: { message?: string; cause?: unknown } = {}): GrpcStatusError {
  const message = options.message ?? describeViolations(violations);
  const metadata = setBadRequest(status.INVALID_ARGUMENT, message, violations);
  return new GrpcStatusError(status.INVALID_ARGUMENT, message, { metadata, ...(options.cause === undefined ? {} : { cause: options.cause }) });
}

/**
 * The field violations of every BadRequest in the status details of
 * `source` (a GrpcStatusError, a grpc-js ServiceError, or trailers); [] when
 * there are none. NOTE: a detail that does not decode is ignored rather than
 * thrown: a broken detail must not hide the status it came with.
 */
export function fieldViolationsOf(source: Metadata | { readonly metadata?: Metadata | undefined }): FieldViolation[] {
  // NOTE: by shape, not instanceof: a second copy of grpc-js has its own Metadata class.
  const metadata = typeof (source as Partial<Metadata>).getMap === "function" ? (source as Metadata) : (source as { metadata?: Metadata }).metadata;
  const value = metadata?.get(STATUS_DETAILS_METADATA_KEY)[0];
  if (!(value instanceof Uint8Array)) return [];
  try {
    const details = fromBinary(StatusSchema, value).details;
    return details.flatMap((detail) => anyUnpack(detail, BadRequestSchema)?.fieldViolations.map((v) => ({ field: v.field, description: v.description })) ?? []);
  } catch {
    return [];
  }
}
