/**
 * The router's settings: one zod schema with named defaults, filled from
 * flags, then SIGMASERVE_ROUTER_* environment variables; validated once and
 * frozen. Workers come from NATS (--nats URL) or a static list (--workers).
 */
import { DEFAULT_ROUTING_POLICY, ROUTING_POLICIES } from "@sigmaserve/kv-index";
import { captureMessageContentFromEnv, CAPTURE_MESSAGE_CONTENT_ENV } from "@sigmaserve/telemetry";
import { parseArgs } from "node:util";
import { z } from "zod";
import { RouterConfigError } from "../errors.js";
import { DEFAULT_MAX_REPLAYS } from "../generate/dispatcher.js";
import { DEFAULT_SPLIT_MAX_PREFILL_QUEUE, DEFAULT_SPLIT_MIN_PROMPT_TOKENS } from "../generate/prefill-split.js";

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_MAX_QUEUED = 1024;

const int = (min: number) => z.coerce.number().int().min(min);

export const RouterConfigSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  /** gRPC port; 0 = the OS picks. */
  grpcPort: int(0).max(65_535).default(0),
  /** OpenAI HTTP port; 0 = the OS picks. */
  httpPort: int(0).max(65_535).default(0),
  nats: z.string().min(1).optional(),
  /** Comma-separated worker addresses (host:port), when there is no bus. */
  workers: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? [] : v.split(",").map((s) => s.trim()))),
  policy: z.enum(ROUTING_POLICIES as unknown as [string, ...string[]]).default(DEFAULT_ROUTING_POLICY),
  apiKeysFile: z.string().min(1).optional(),
  apiKeys: z.string().optional(),
  maxInFlight: int(1).default(DEFAULT_MAX_IN_FLIGHT),
  maxQueued: int(0).default(DEFAULT_MAX_QUEUED),
  maxReplays: int(0).default(DEFAULT_MAX_REPLAYS),
  maxMessageMib: z.coerce.number().positive().default(64),
  /**
   * Fewest missing blocks for a cache pull (generate/cache-pull.ts); 0, the default, turns cache pulls off. They
   * need the bus. Off by default: on the serve bench's 12-tenant workload they left the hit rate where it was
   * (0.872 against 0.869, medians of 5 alternating runs) and raised TTFT p99 (273 against 174 ms) on 2 cores.
   */
  cachePullMinBlocks: int(0).default(0),
  /** A prefill/decode split needs at least this many prompt tokens not cached on the decode worker (generate/prefill-split.ts). */
  splitMinPromptTokens: int(1).default(DEFAULT_SPLIT_MIN_PROMPT_TOKENS),
  /** ... and a prefill worker with at most this many requests queued. Splits happen only when --role prefill workers exist. */
  splitMaxPrefillQueue: int(0).default(DEFAULT_SPLIT_MAX_PREFILL_QUEUE),
  /** OTLP/HTTP collector base URL for traces (spans go to URL/v1/traces); the OTEL_EXPORTER_OTLP_* variables otherwise. */
  otlpEndpoint: z.url({ error: "must be a URL such as http://127.0.0.1:4318" }).optional(),
  /**
   * Record prompt and output text on request spans (gen_ai.input.messages, gen_ai.output.messages). Off by default;
   * without the flag or SIGMASERVE_ROUTER_TRACE_CONTENT, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT decides.
   */
  traceContent: z
    .union([z.boolean(), z.enum(["true", "false", "1", "0"])], { error: "must be true, false, 1 or 0" })
    .transform((v) => v === true || v === "true" || v === "1")
    .default(false),
});

export type RouterConfig = Readonly<z.output<typeof RouterConfigSchema>>;

const FLAGS = {
  host: "host",
  "grpc-port": "grpcPort",
  "http-port": "httpPort",
  nats: "nats",
  workers: "workers",
  policy: "policy",
  "api-keys-file": "apiKeysFile",
  "api-keys": "apiKeys",
  "max-in-flight": "maxInFlight",
  "max-queued": "maxQueued",
  "max-replays": "maxReplays",
  "max-message-mib": "maxMessageMib",
  "cache-pull-min-blocks": "cachePullMinBlocks",
  "split-min-prompt-tokens": "splitMinPromptTokens",
  "split-max-prefill-queue": "splitMaxPrefillQueue",
  "otlp-endpoint": "otlpEndpoint",
  "trace-content": "traceContent",
} as const;

/** Flags that take no value (present = true); their SIGMASERVE_ROUTER_* variables take true/false/1/0. */
const BOOLEAN_FLAGS = new Set(["trace-content"]);

export const ROUTER_USAGE = `usage: sigmaserve router (--nats URL | --workers host:port,...) [--grpc-port N] [--http-port N] [--host H]
                         [--policy kv_aware|least_loaded|round_robin] [--api-keys-file FILE] [--max-in-flight N] [--max-queued N] [--max-replays N]
                         [--cache-pull-min-blocks N (default 0 = off; 4 is a start)] [--split-min-prompt-tokens N] [--split-max-prefill-queue N]
                         [--otlp-endpoint URL (traces over OTLP/HTTP; default: OTEL_EXPORTER_OTLP_ENDPOINT, else off)]
                         [--trace-content (record prompt and output text on spans; default: ${CAPTURE_MESSAGE_CONTENT_ENV}, else off)]
Every flag can also be set as SIGMASERVE_ROUTER_<FLAG> (e.g. SIGMASERVE_ROUTER_API_KEYS="key1=tenantA,key2=tenantB").`;

export function loadRouterConfig(argv: string[], env: NodeJS.ProcessEnv): RouterConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: BOOLEAN_FLAGS.has(flag) ? ("boolean" as const) : ("string" as const) }])), strict: true }).values;
  } catch (err) {
    throw new RouterConfigError((err as Error).message);
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) raw[key] = values[flag] ?? env[`SIGMASERVE_ROUTER_${flag.toUpperCase().replaceAll("-", "_")}`];
  raw["traceContent"] ??= captureMessageContentFromEnv(env);
  const parsed = RouterConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const keyToFlag = Object.fromEntries(Object.entries(FLAGS).map(([flag, key]) => [key, flag]));
    throw new RouterConfigError(parsed.error.issues.map((i) => `--${keyToFlag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join("; "));
  }
  return Object.freeze(parsed.data);
}
