/**
 * @sigmaserve/proto: the contracts and the grpc-js adapter.
 *
 * Generated code is re-exported per proto package as a namespace, because
 * message names repeat across packages (sigmaserve.v1.GenerateRequest is the
 * public request, sigmaserve.worker.v1.GenerateRequest the router → worker one).
 * `rpc` is the vendored google.rpc package (Status and the error details).
 */
export * as rpc from "./google-rpc.js";
export * as coordv1 from "./gen/sigmaserve/coord/v1/coord_pb.js";
export * as inferencev1 from "./gen/sigmaserve/v1/inference_pb.js";
export * as kvv1 from "./gen/sigmaserve/kv/v1/kv_pb.js";
export * as workerv1 from "./gen/sigmaserve/worker/v1/worker_pb.js";
export * from "./grpc/index.js";
