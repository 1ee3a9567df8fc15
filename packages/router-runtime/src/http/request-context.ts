/**
 * What a handler of the HTTP door gets: the request and response (fastify's
 * raw node:http objects; the route has hijacked the reply, so handlers write
 * to `res` themselves), the RequestPipeline, path parameters, and an
 * AbortSignal that aborts when the client goes away before the response has
 * ended (the response's 'close' without a finished write). Handlers pass the
 * signal to `pipeline.generate`, which cancels the worker call, so a closed
 * browser tab frees its KV blocks at once.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Tenant } from "../auth/api-keys.js";
import type { RequestPipeline } from "../request-pipeline.js";
import { parseJson } from "./parse-json-body.js";

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
  /** The body as JSON; throws a 400 OpenAiError (a body past the limit never reaches a handler: 413). */
  readJson(): Promise<unknown>;
}

/**
 * A body as the content-type parser left it. A body that is not JSON is kept
 * as its error rather than thrown by the parser, so a handler authenticates
 * first: a request without a key is a 401 whatever its body, as before fastify.
 */
export class ParsedBody {
  constructor(
    readonly value: unknown,
    readonly error: unknown = undefined,
  ) {}
}

/** The parsed body of a request: `request.body` (undefined when the request had none). */
function jsonOf(body: unknown): unknown {
  if (body instanceof ParsedBody) {
    if (body.error !== undefined) throw body.error;
    return body.value;
  }
  // No body at all (no content, no content type): the same 400 as an empty one.
  return parseJson(Buffer.alloc(0));
}

export function createRequestContext(
  req: IncomingMessage,
  res: ServerResponse,
  init: { url: URL; params: Record<string, string>; body: unknown; pipeline: RequestPipeline; logger: Logger },
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
    readJson: async () => jsonOf(init.body),
  };
}
