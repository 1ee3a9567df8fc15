/**
 * EndpointTable: a small method + path table over node:http (what web
 * frameworks call a router; named apart so "router" means the sigmaserve
 * router only). Paths are literal segments
 * or `:name` parameters (`/v1/models/:model`); there are no wildcards and no
 * trailing-slash folding, so each endpoint has exactly one spelling. An
 * unknown path is a 404 and a known path with another method a 405 with an
 * `Allow` header. HEAD is answered by the GET handler (Node drops the body).
 */
import { OpenAiError } from "./openai-error.js";

export type HttpMethod = "GET" | "POST";

interface Route<H> {
  segments: string[];
  handlers: Map<HttpMethod, H>;
}

export interface RouteMatch<H> {
  handler: H;
  params: Record<string, string>;
  /** The route as registered (`/v1/models/:model`): a label with bounded values, unlike the path. */
  template: string;
}

export class EndpointTable<H> {
  private readonly routes: Route<H>[] = [];

  on(method: HttpMethod, path: string, handler: H): this {
    const segments = path.split("/").slice(1);
    let route = this.routes.find((r) => r.segments.join("/") === segments.join("/"));
    if (route === undefined) {
      route = { segments, handlers: new Map() };
      this.routes.push(route);
    }
    route.handlers.set(method, handler);
    return this;
  }

  /** The handler for a request; throws a 404 or 405 OpenAiError when there is none. */
  match(method: string, pathname: string): RouteMatch<H> {
    const parts = pathname.split("/").slice(1);
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params === null) continue;
      const handler = route.handlers.get((method === "HEAD" ? "GET" : method) as HttpMethod);
      if (handler !== undefined) return { handler, params, template: `/${route.segments.join("/")}` };
      const allow = [...route.handlers.keys()].join(", ");
      throw new OpenAiError(405, `method ${method} is not allowed on ${pathname}; use ${allow}`, "invalid_request_error", null, "method_not_allowed", { allow });
    }
    throw new OpenAiError(404, `no endpoint ${pathname}; this server has /v1/models, /v1/completions, /v1/chat/completions, /v1/cluster, /tokenize, /detokenize, /status, /health, /healthz, /readyz, /version and /metrics`, "invalid_request_error", null, "not_found");
  }
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment.startsWith(":")) {
      if (part === "") return null;
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return null;
      }
    } else if (segment !== part) return null;
  }
  return params;
}
