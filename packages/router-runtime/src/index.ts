/** A router as a library: the router app and the single-process `sigmaserve up` start it from here. */
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_QUEUED, ROUTER_USAGE, RouterConfigSchema, loadRouterConfig, type RouterConfig } from "./config/router-config.js";
export { AuthenticationError, InvalidRequestError, NoWorkerError, OverloadedError, RouterConfigError, UnknownModelError } from "./errors.js";
export { RequestPipeline } from "./request-pipeline.js";
export { startRouter, type RouterRuntime, type StartRouterOptions } from "./router-runtime.js";
