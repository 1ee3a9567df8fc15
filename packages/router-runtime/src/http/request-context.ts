/**
 * What a handler of the HTTP door gets: the request and response, the
 * RequestPipeline, path parameters, and an AbortSignal that aborts when the client
 * goes away before the response has ended (the response's 'close' without a
 * finished write). Handlers pass the signal to `pipeline.generate`, which cancels
 * the worker call, so a closed browser tab frees its KV blocks at once.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Tenant } from "../auth/api-keys.js";
import type { RequestPipeline } from "../request-pipeline.js";
import { readJsonBody } from "./parse-json-body.js";

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly pipeline: RequestPipeline;
  readonly logger: Logger;
  /** Aborted when the client disconnects before the response ended. */
  readonly signal: AbortSignal;
  /** The tenant of the `Authorization: Bearer <key>` header; throws AuthenticationError. */
  authenticate(): Tenant;
  /** The body as JSON, within the size limit; throws a 400 or 413 OpenAiError. */
  readJson(): Promise<unknown>;
}

export function createRequestContext(
  req: IncomingMessage,
  res: ServerResponse,
  init: { url: URL; params: Record<string, string>; pipeline: RequestPipeline; logger: Logger; maxBodyBytes: number },
): RequestContext {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("the client closed the connection before the response ended"));
  });
  return {
    req,
    res,
    url: init.url,
    params: init.params,
    pipeline: init.pipeline,
    logger: init.logger,
    signal: controller.signal,
    authenticate: () => init.pipeline.apiKeys.authenticate(req.headers.authorization),
    readJson: () => readJsonBody(req, init.maxBodyBytes),
  };
}
