/**
 * The router's OpenAI-compatible HTTP door, on fastify:
 *
 *   GET  /v1/models, /v1/models/{model}   models some worker serves
 *   POST /v1/completions                  one prompt, streamed (SSE) or not
 *   POST /v1/chat/completions             messages through the chat template
 *   GET  /v1/cluster                      workers, load, admission, KV index
 *   GET  /healthz, /readyz                liveness, readiness (503 with no routable worker)
 *   GET  /metrics                         Prometheus series of the router (sigmaserve_router_*)
 *   GET  /status                          a live status page (polls /v1/cluster)
 *   GET  /health, /version                vLLM's liveness and version
 *   POST /tokenize, /detokenize           vLLM's tokenizer endpoints (vllm-endpoints.ts)
 *
 * Every response carries `x-request-id`: the client's own (a printable id of at
 * most 128 characters) or one made here, also in the request's log lines.
 *
 * The /v1 endpoints authenticate `Authorization: Bearer <key>` through the
 * router's API keys (open when none are configured); the probes do not.
 * Everything thrown by a handler is mapped once, by `toHttpError`, to
 * OpenAI's `{error: {message, type, param, code}}` and its status. A client
 * that disconnects aborts its request's signal, which cancels the worker call.
 *
 * Fastify owns routing (an unknown path is a 404 listing the endpoints, a
 * known path with another method a 405 with `Allow`, HEAD is GET without the
 * body), reading the body within `maxBodyBytes` (413 above) and closing. Each
 * route hijacks its reply: handlers write to the node:http response
 * themselves (JSON, SSE with back-pressure, /metrics), so fastify serializes
 * nothing of ours. Errors fastify raises before a handler (413, a bad
 * Content-Length) and errors a handler throws go through one `sendHttpError`.
 *
 * With `tls` (the router's --tls-cert/--tls-key) the door is HTTPS on the
 * same port; with a client CA it requires client certificates. A rotation of
 * the files reaches new connections through `setSecureContext`, without a
 * restart (the provider re-reads them; see @sigmaserve/proto's tls/).
 */
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { PemFileCertificateProvider, PemMaterial } from "@sigmaserve/proto";
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { handleMetrics } from "@sigmaserve/telemetry";
import type { Logger } from "pino";
import type { RequestPipeline } from "../request-pipeline.js";
import { handleChatCompletions } from "./chat-completions.js";
import { clusterStatus } from "./cluster-status.js";
import { handleCompletions } from "./completions.js";
import { getModel, listModels } from "./models.js";
import { OpenAiError } from "./openai-error.js";
import { DEFAULT_MAX_BODY_BYTES, isJsonContentType, notJson, parseJson, tooLarge } from "./parse-json-body.js";
import { readiness } from "./probes.js";
import { createRequestContext, ParsedBody, type RequestContext } from "./request-context.js";
import { sendError, sendJson } from "./send-json.js";
import { sendStatusPage } from "./status-page.js";
import { toHttpError } from "./to-http-error.js";
import { handleDetokenize, handleHealth, handleTokenize, handleVersion } from "./vllm-endpoints.js";

/** How long close() lets running requests (streams) finish before it cuts their connections, ms. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

export interface OpenAiServer {
  /** host:port the server listens on. */
  address: string;
  /** Stops accepting, waits up to the grace period for running requests, then closes every connection. */
  close(): Promise<void>;
}

export interface OpenAiServerOptions {
  host: string;
  /** 0 = the OS picks. */
  port: number;
  logger: Logger;
  /** Largest request body, bytes (413 above). */
  maxBodyBytes?: number;
  closeGraceMs?: number;
  /** Serve HTTPS with this certificate (and require client certificates when it has a CA); plaintext without. */
  tls?: PemFileCertificateProvider;
}

/** node:https options from TLS material: a client CA means client certificates are required, never merely asked for. */
function httpsOptions(material: PemMaterial, requireClientCert: boolean) {
  return { cert: material.cert, key: material.key, ca: material.ca, requestCert: requireClientCert, rejectUnauthorized: requireClientCert };
}

type Handler = (ctx: RequestContext) => Promise<void>;

export interface Endpoint {
  method: "GET" | "POST";
  /** As registered, with `:name` parameters: the `route` label of the HTTP metric. */
  url: string;
  handler: Handler;
}

export function openAiRoutes(): Endpoint[] {
  return [
    { method: "GET", url: "/healthz", handler: async (ctx) => sendJson(ctx.res, 200, { status: "ok" }) },
    { method: "GET", url: "/health", handler: handleHealth },
    { method: "GET", url: "/version", handler: handleVersion },
    { method: "POST", url: "/tokenize", handler: handleTokenize },
    { method: "POST", url: "/detokenize", handler: handleDetokenize },
    // Unauthenticated, as vLLM's and every Prometheus target's: it names tenants by id, never a key.
    { method: "GET", url: "/metrics", handler: async (ctx) => handleMetrics(ctx.pipeline.metrics.registry, ctx.req, ctx.res) },
    // The page holds no data; it reads /v1/cluster, which wants a key when keys are on.
    { method: "GET", url: "/status", handler: async (ctx) => sendStatusPage(ctx.res) },
    {
      method: "GET",
      url: "/readyz",
      handler: async (ctx) => {
        const ready = readiness(ctx.pipeline);
        sendJson(ctx.res, ready.ready ? 200 : 503, { status: ready.ready ? "ready" : "not_ready", ...ready });
      },
    },
    {
      method: "GET",
      url: "/v1/models",
      handler: async (ctx) => {
        ctx.authenticate();
        sendJson(ctx.res, 200, listModels(ctx.pipeline));
      },
    },
    {
      method: "GET",
      url: "/v1/models/:model",
      handler: async (ctx) => {
        ctx.authenticate();
        sendJson(ctx.res, 200, getModel(ctx.pipeline, ctx.params.model!));
      },
    },
    { method: "POST", url: "/v1/completions", handler: handleCompletions },
    { method: "POST", url: "/v1/chat/completions", handler: handleChatCompletions },
    {
      method: "GET",
      url: "/v1/cluster",
      handler: async (ctx) => {
        ctx.authenticate();
        sendJson(ctx.res, 200, clusterStatus(ctx.pipeline));
      },
    },
  ];
}

/** A request id a client may set (`X-Request-Id`): printable ASCII, 1-128 characters; anything else is replaced. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://router.invalid").pathname;
}

function notFound(pathname: string): OpenAiError {
  return new OpenAiError(
    404,
    `no endpoint ${pathname}; this server has /v1/models, /v1/completions, /v1/chat/completions, /v1/cluster, /tokenize, /detokenize, /status, /health, /healthz, /readyz, /version and /metrics`,
    "invalid_request_error",
    null,
    "not_found",
  );
}

function methodNotAllowed(method: string, pathname: string, allow: string): OpenAiError {
  return new OpenAiError(405, `method ${method} is not allowed on ${pathname}; use ${allow}`, "invalid_request_error", null, "method_not_allowed", { allow });
}

/** Fastify's own errors (raised before a handler) in OpenAI's shape; anything else through `toHttpError`. */
function fromFastify(err: unknown, maxBodyBytes: number): OpenAiError {
  const fastifyError = err as Partial<FastifyError>;
  if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") return tooLarge(maxBodyBytes);
  if (typeof fastifyError.code === "string" && fastifyError.code.startsWith("FST_") && typeof fastifyError.statusCode === "number" && fastifyError.statusCode < 500) {
    return new OpenAiError(fastifyError.statusCode, fastifyError.message ?? "bad request", "invalid_request_error", null, null);
  }
  return toHttpError(err);
}

/** The door's one error path: a client that went away gets nothing; otherwise the OpenAI error, or a cut stream once headers went out. */
function sendHttpError(err: unknown, req: IncomingMessage, res: ServerResponse, logger: Logger, maxBodyBytes: number, signal?: AbortSignal): void {
  const path = pathOf(req);
  if (signal?.aborted === true) {
    logger.debug({ method: req.method, path }, "client went away");
    return;
  }
  const error = fromFastify(err, maxBodyBytes);
  if (error.status >= 500) logger.warn({ method: req.method, path, status: error.status, err: error.message }, "request failed");
  if (!res.headersSent) sendError(res, error);
  else if (!res.writableEnded) res.destroy(error);
}

/** Methods fastify routes that no endpoint of a path takes: those answer 405. */
function otherMethods(supported: readonly string[], taken: ReadonlySet<string>): string[] {
  return supported.filter((method) => !taken.has(method) && !(method === "HEAD" && taken.has("GET")) && method !== "CONNECT");
}

function buildApp(pipeline: RequestPipeline, options: OpenAiServerOptions): FastifyInstance {
  const logger = options.logger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // NOTE: the https option only changes the server type; handlers see the same node:http request and response.
  const app = (fastify as (opts: Record<string, unknown>) => FastifyInstance)({
    ...(options.tls === undefined ? {} : { https: httpsOptions(options.tls.current(), options.tls.hasCa) }),
    // NOTE: our pino logger writes the door's log lines below; fastify's own per-request lines are not wanted.
    logger: false,
    bodyLimit: maxBodyBytes,
    genReqId: requestIdOf,
    // `close()` cuts connections itself after the grace period.
    forceCloseConnections: false,
    // As node:http did: a request that arrives on an open connection while closing is still served.
    return503OnClosing: false,
  });

  // Every content type is read as JSON (parse-json-body.ts); a bad body is kept for the handler, after authentication.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body, done) => {
    try {
      const contentType = request.headers["content-type"];
      if (!isJsonContentType(contentType)) throw notJson(contentType!);
      done(null, new ParsedBody(parseJson(body as Buffer)));
    } catch (err) {
      done(null, new ParsedBody(undefined, err));
    }
  });

  app.addHook("onRequest", async (request, reply) => {
    const startedAtMs = Date.now();
    const res = reply.raw;
    res.setHeader("x-request-id", request.id);
    const path = pathOf(request.raw);
    // A 405 is counted as unmatched, as a 404 is: only served routes have a template.
    const template = (request.routeOptions.config as { methodNotAllowed?: boolean }).methodNotAllowed === true ? undefined : request.routeOptions.url;
    res.on("error", (err) => logger.debug({ err: err.message, path }, "response error"));
    // A stream's status is known when its headers went out; its end is counted by the pipeline.
    res.once("close", () => {
      pipeline.metrics.httpRequest(template ?? "unmatched", res.statusCode);
      logger.debug({ method: request.method, path, status: res.statusCode, ms: Date.now() - startedAtMs, requestId: request.id }, "http request");
    });
  });

  const byUrl = new Map<string, Endpoint[]>();
  for (const endpoint of openAiRoutes()) byUrl.set(endpoint.url, [...(byUrl.get(endpoint.url) ?? []), endpoint]);
  for (const [url, endpoints] of byUrl) {
    for (const endpoint of endpoints) {
      app.route({
        method: endpoint.method,
        url,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          reply.hijack();
          const ctx = createRequestContext(request.raw, reply.raw, {
            url: new URL(request.url, "http://router.invalid"),
            params: request.params as Record<string, string>,
            body: request.body,
            pipeline,
            logger,
          });
          try {
            await endpoint.handler(ctx);
          } catch (err) {
            sendHttpError(err, request.raw, reply.raw, logger, maxBodyBytes, ctx.signal);
          }
        },
      });
    }
    const allow = endpoints.map((e) => e.method).join(", ");
    app.route({
      method: otherMethods(app.supportedMethods, new Set(endpoints.map((e) => e.method))),
      url,
      config: { methodNotAllowed: true },
      handler: async (request, reply) => {
        reply.hijack();
        sendHttpError(methodNotAllowed(request.method, pathOf(request.raw), allow), request.raw, reply.raw, logger, maxBodyBytes);
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    reply.hijack();
    sendHttpError(notFound(pathOf(request.raw)), request.raw, reply.raw, logger, maxBodyBytes);
  });
  app.setErrorHandler(async (err, request, reply) => {
    reply.hijack();
    sendHttpError(err, request.raw, reply.raw, logger, maxBodyBytes);
  });
  return app;
}

export async function startOpenAiServer(pipeline: RequestPipeline, options: OpenAiServerOptions): Promise<OpenAiServer> {
  const app = buildApp(pipeline, options);
  await app.listen({ port: options.port, host: options.host });
  const server = app.server;
  const tls = options.tls;
  // Each re-read certificate (or CA) becomes the context of new connections; open ones keep theirs.
  const stopWatching = tls?.onChange((material) => {
    try {
      (server as unknown as HttpsServer).setSecureContext(httpsOptions(material, tls.hasCa));
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, "HTTPS: the new certificate was not taken; the previous one stays in use");
    }
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    close: () =>
      (closing ??= (async () => {
        const grace = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
        grace.unref();
        server.closeIdleConnections();
        stopWatching?.();
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
        }
      })()),
  };
}
