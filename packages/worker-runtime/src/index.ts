/** A worker as a library: the worker app and the single-process `sigmaserve up` start it from here. */
export { DEFAULT_KV_DEVICE_MIB, DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_MESSAGE_MIB, DEFAULT_MAX_NUM_SEQS, DEFAULT_MAX_TOKENS_LIMIT, WORKER_USAGE, WorkerConfigSchema, loadWorkerConfig, type WorkerConfig } from "./config/worker-config.js";
export { DrainingError, DuplicateRequestError, InvalidRequestError, WorkerConfigError } from "./errors.js";
export { WORKER_VERSION, poolBytes, startWorker, type StartWorkerOptions, type WorkerRuntime } from "./worker-runtime.js";
export { DEFAULT_MIGRATION_FRAME_BYTES, MIGRATION_FLOW_CONTROL_WINDOW_BYTES } from "./migration/migration-target.js";
