/**
 * The vendored google.rpc messages (proto/google/rpc, generated in
 * src/gen/google/rpc) as one namespace: `Status` and the standard error
 * details (`BadRequest`, `RetryInfo`, `ErrorInfo`, ...). Most code needs only
 * the helpers in grpc/bad-request.ts.
 */
export * from "./gen/google/rpc/error_details_pb.js";
export * from "./gen/google/rpc/status_pb.js";
