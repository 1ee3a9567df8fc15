/**
 * The router's OpenAI-compatible HTTP door, on node:http:
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
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { handleMetrics } from "@sigmaserve/telemetry";
import { sendStatusPage } from "./status-page.js";
import type { Logger } from "pino";
import type { RequestPipeline } from "../request-pipeline.js";
import { handleChatCompletions } from "./chat-completions.js";
import { clusterStatus } from "./cluster-status.js";
import { handleCompletions } from "./completions.js";
import { EndpointTable } from "./endpoint-table.js";
import { getModel, listModels } from "./models.js";
import { DEFAULT_MAX_BODY_BYTES } from "./parse-json-body.js";
import { readiness } from "./probes.js";
import { createRequestContext, type RequestContext } from "./request-context.js";
import { sendError, sendJson } from "./send-json.js";
import { toHttpError } from "./to-http-error.js";
import { handleDetokenize, handleHealth, handleTokenize, handleVersion } from "./vllm-endpoints.js";
import { randomUUID } from "node:crypto";

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
}

type Handler = (ctx: RequestContext) => Promise<void>;

export function openAiRoutes(): EndpointTable<Handler> {
  return new EndpointTable<Handler>()
    .on("GET", "/healthz", async (ctx) => sendJson(ctx.res, 200, { status: "ok" }))
    .on("GET", "/health", handleHealth)
    .on("GET", "/version", handleVersion)
    .on("POST", "/tokenize", handleTokenize)
    .on("POST", "/detokenize", handleDetokenize)
    // Unauthenticated, as vLLM's and every Prometheus target's: it names tenants by id, never a key.
    .on("GET", "/metrics", async (ctx) => handleMetrics(ctx.pipeline.metrics.registry, ctx.req, ctx.res))
    // The page holds no data; it reads /v1/cluster, which wants a key when keys are on.
    .on("GET", "/status", async (ctx) => sendStatusPage(ctx.res))
    .on("GET", "/readyz", async (ctx) => {
      const ready = readiness(ctx.pipeline);
      sendJson(ctx.res, ready.ready ? 200 : 503, { status: ready.ready ? "ready" : "not_ready", ...ready });
    })
    .on("GET", "/v1/models", async (ctx) => {
      ctx.authenticate();
      sendJson(ctx.res, 200, listModels(ctx.pipeline));
    })
    .on("GET", "/v1/models/:model", async (ctx) => {
      ctx.authenticate();
      sendJson(ctx.res, 200, getModel(ctx.pipeline, ctx.params.model!));
    })
    .on("POST", "/v1/completions", handleCompletions)
    .on("POST", "/v1/chat/completions", handleChatCompletions)
    .on("GET", "/v1/cluster", async (ctx) => {
      ctx.authenticate();
      sendJson(ctx.res, 200, clusterStatus(ctx.pipeline));
    });
}

async function serve(req: IncomingMessage, res: ServerResponse, pipeline: RequestPipeline, routes: EndpointTable<Handler>, options: OpenAiServerOptions): Promise<void> {
  const startedAtMs = Date.now();
  const url = new URL(req.url ?? "/", "http://router.invalid");
  const logger = options.logger;
  let ctx: RequestContext | undefined;
  let template = "unmatched";
  const requestId = requestIdOf(req);
  res.setHeader("x-request-id", requestId);
  res.on("error", (err) => logger.debug({ err: err.message, path: url.pathname }, "response error"));
  try {
    const { handler, params, template: matched } = routes.match(req.method ?? "GET", url.pathname);
    template = matched;
    ctx = createRequestContext(req, res, { url, params, pipeline, logger, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
    await handler(ctx);
  } catch (err) {
    if (ctx?.signal.aborted === true) {
      logger.debug({ method: req.method, path: url.pathname }, "client went away");
      return;
    }
    const error = toHttpError(err);
    if (error.status >= 500) logger.warn({ method: req.method, path: url.pathname, status: error.status, err: error.message }, "request failed");
    if (!res.headersSent) sendError(res, error);
    else if (!res.writableEnded) res.destroy(error);
    return;
  } finally {
    // A stream's status is known when its headers went out; its end is counted by the pipeline.
    pipeline.metrics.httpRequest(template, res.statusCode);
    logger.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - startedAtMs, requestId }, "http request");
  }
}

/** A request id a client may set (`X-Request-Id`): printable ASCII, 1-128 characters; anything else is replaced. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

export async function startOpenAiServer(pipeline: RequestPipeline, options: OpenAiServerOptions): Promise<OpenAiServer> {
  const routes = openAiRoutes();
  const server = createServer((req, res) => {
    void serve(req, res, pipeline, routes, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const grace = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}
