/**
 * One way to say where the router is: `--address` (or SIGMASERVE_ADDRESS) takes a URL, `http://host:port`
 * for the HTTP API or `grpc://host:port` for gRPC, or a bare `host:port`, which means the protocol the
 * command speaks. So the URLs the `up` banner prints can be pasted as they are. The API key comes from
 * `--api-key` or SIGMASERVE_API_KEY (a key in the environment stays out of the shell's history); flags win.
 */
import { UsageError } from "./usage-error.js";

export const ADDRESS_ENV = "SIGMASERVE_ADDRESS";
export const API_KEY_ENV = "SIGMASERVE_API_KEY";
/** Where `up` puts the router by default. */
export const DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051";
export const DEFAULT_HTTP_ADDRESS = "127.0.0.1:8000";

const HTTP_SCHEMES = new Set(["http:", "https:"]);
const GRPC_SCHEMES = new Set(["grpc:"]);

/**
 * The address for a command that speaks `protocol`: "host:port" for gRPC, a base URL without a trailing
 * slash ("http://host:port") for HTTP. A URL of the other protocol is a usage error that says which to give.
 */
export function resolveAddress(given: string | undefined, env: NodeJS.ProcessEnv, protocol: "http" | "grpc", usage: string): string {
  const fromEnv = env[ADDRESS_ENV] === "" ? undefined : env[ADDRESS_ENV];
  const value = given ?? fromEnv ?? (protocol === "grpc" ? DEFAULT_GRPC_ADDRESS : DEFAULT_HTTP_ADDRESS);
  const source = given !== undefined ? "--address" : fromEnv !== undefined ? ADDRESS_ENV : "the default address";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UsageError(`${source} "${value}" is not a URL`, usage);
    }
    const wanted = protocol === "grpc" ? GRPC_SCHEMES : HTTP_SCHEMES;
    if (!wanted.has(url.protocol)) {
      const hint = protocol === "grpc" ? "grpc://host:port or host:port (the router's grpc address)" : "http://host:port or host:port (the router's http address)";
      throw new UsageError(`${source} "${value}" is not a ${protocol === "grpc" ? "gRPC" : "HTTP"} address: give ${hint}`, usage);
    }
    // NOTE: the router's API lives at its root: a path is a mistake ("http://http://h:1" parses as host "http", path "//h:1").
    if (url.pathname !== "/" && url.pathname !== "") throw new UsageError(`${source} "${value}" has a path: give scheme://host:port only`, usage);
    if (url.port === "" && protocol === "grpc") throw new UsageError(`${source} "${value}" has no port`, usage);
    return protocol === "grpc" ? url.host : `${url.protocol}//${url.host}`;
  }
  if (!/^(\[[0-9a-f:]+\]|[^\s/:[\]]+):\d{1,5}$/i.test(value)) throw new UsageError(`${source} "${value}" is neither host:port nor a URL (http://host:port, grpc://host:port)`, usage);
  return protocol === "grpc" ? value : `http://${value}`;
}

export function resolveApiKey(given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return given ?? (env[API_KEY_ENV] === "" ? undefined : env[API_KEY_ENV]);
}

/** The rows every client command's flag table shares. */
export const addressFlag = (protocol: "http" | "grpc") => ({
  type: "string" as const,
  value: "ADDR",
  default: `${protocol === "grpc" ? DEFAULT_GRPC_ADDRESS : DEFAULT_HTTP_ADDRESS}, or $${ADDRESS_ENV}`,
  description: `the router: ${protocol === "grpc" ? "grpc://host:port" : "http://host:port"} (as "sigmaserve up" prints it) or host:port`,
});
export const API_KEY_FLAG = { type: "string" as const, value: "KEY", default: `$${API_KEY_ENV}`, description: "API key, sent as a bearer token (prefer the variable: flags land in shell history)" };
