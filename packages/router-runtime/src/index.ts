/** A router as a library: the router app and the single-process `sigmaserve up` start it from here. */
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUED, ROUTER_USAGE, RouterConfigSchema, loadRouterConfig, type RouterConfig } from "./config/router-config.js";
export { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, RouterConfigError, TenantLimitError, UnknownModelError } from "./errors.js";
export { API_KEY_DIGEST_PREFIX, hashApiKey } from "./auth/api-key-digest.js";
export { RequestPipeline } from "./request-pipeline.js";
export { startRouter, type RouterRuntime, type StartRouterOptions } from "./router-runtime.js";
