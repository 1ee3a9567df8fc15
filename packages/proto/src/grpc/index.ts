export { badRequestError, describeViolations, fieldViolationsOf, setBadRequest, STATUS_DETAILS_METADATA_KEY, type FieldViolation } from "./bad-request.js";
export { bindService, defaultToStatus, type BindOptions, type MethodImpl, type ServiceImpl, type ToStatus } from "./bind-service.js";
export { createGrpcClient, isCancelled, type CallOptions, type ClientMethod, type ClientOptions, type ServiceClient } from "./create-client.js";
export { GrpcStatusError, isGrpcStatusError, type GrpcStatusCode } from "./grpc-status-error.js";
export { type HandlerContext } from "./handler-context.js";
export { addHealthService, type HealthReporter, type ServingStatus } from "./health.js";
export { GRPC_DEFAULT_MAX_MESSAGE_BYTES, messageSizeOptions } from "./message-size.js";
export { addReflectionService, fileDescriptorProtos } from "./reflection.js";
export { grpcMethodDefinition, grpcServiceDefinition, methodPath } from "./service-definition.js";
