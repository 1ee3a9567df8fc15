/**
 * The router's settings: one zod schema with named defaults, filled from
 * flags, then SIGMASERVE_ROUTER_* environment variables; validated once and
 * frozen. Workers come from NATS (--nats URL) or a static list (--workers).
 */
import { natsSecurityFlagsProblem } from "@sigmaserve/coord";
import { DEFAULT_ROUTING_POLICY, ROUTING_POLICIES } from "@sigmaserve/kv-index";
import { captureMessageContentFromEnv, CAPTURE_MESSAGE_CONTENT_ENV } from "@sigmaserve/telemetry";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_TLS_REFRESH_INTERVAL_MS } from "@sigmaserve/proto";
import { RouterConfigError } from "../errors.js";
import { DEFAULT_MAX_REPLAYS, DEFAULT_STALL_TIMEOUT_MS } from "../generate/dispatcher.js";
import { DEFAULT_SPLIT_MAX_PREFILL_QUEUE, DEFAULT_SPLIT_MIN_PROMPT_TOKENS } from "../generate/prefill-split.js";
import { DEFAULT_SCALE_POLICY } from "../autoscaler/scale-policy.js";

export const DEFAULT_MAX_IN_FLIGHT = 256;
export const DEFAULT_MAX_QUEUED = 1024;
/** Largest request a client may send over gRPC, MiB (grpc-js's own default; a 128K-token prompt is about 0.5 MiB). */
export const DEFAULT_MAX_REQUEST_MIB = 4;

const int = (min: number) => z.coerce.number().int().min(min);

export const RouterConfigSchema = z
  .object({
  host: z.string().min(1).default("127.0.0.1"),
  /** gRPC port; 0 = the OS picks. */
  grpcPort: int(0).max(65_535).default(0),
  /** OpenAI HTTP port; 0 = the OS picks. */
  httpPort: int(0).max(65_535).default(0),
  /**
   * Plaintext port that serves only grpc.health.v1 (the main port's statuses), for probes that cannot speak
   * TLS or present a client certificate (Kubernetes' gRPC probes); 0 = the OS picks; unset = none.
   */
  healthPort: int(0).max(65_535).optional(),
  nats: z.string().min(1).optional(),
  /** NATS credentials and TLS from files (coord's NatsSecurityOptions): at most one credential kind; checked at load, read at connect. */
  natsCreds: z.string().optional(),
  natsNkeySeedFile: z.string().optional(),
  natsUser: z.string().optional(),
  natsPasswordFile: z.string().optional(),
  natsTokenFile: z.string().optional(),
  natsTlsCa: z.string().optional(),
  natsTlsCert: z.string().optional(),
  natsTlsKey: z.string().optional(),
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
  /**
   * Requests one tenant may have in flight (admission/tenant-gate.ts). Absent: with API keys on, half of
   * maxInFlight (DEFAULT_TENANT_SHARE), so one tenant cannot take every slot; with the router open (one
   * tenant), maxInFlight (no share).
   */
  tenantMaxInFlight: int(1).optional(),
  /** Requests one tenant may have waiting for its own slot; absent: the same share of maxQueued (or all of it, open). */
  tenantMaxQueued: int(0).optional(),
  /** Per-tenant rate limits, per router: requests/s and (prompt + max_tokens) tokens/s; 0 = off (the default). */
  tenantRequestsPerS: z.coerce.number().min(0).default(0),
  /** Requests a quiet tenant may send at once; default one second's worth of the rate. */
  tenantRequestsBurst: z.coerce.number().positive().optional(),
  tenantTokensPerS: z.coerce.number().min(0).default(0),
  tenantTokensBurst: z.coerce.number().positive().optional(),
  /** A file whose bytes (at least 32) key the tenant cache salts (auth/tenant-salt-key.ts has the other sources). */
  tenantSaltKeyFile: z.string().min(1).optional(),
  /** SIGMASERVE_ROUTER_TENANT_SALT_KEY (no flag: a secret must not sit on a command line). */
  tenantSaltKey: z.string().min(1).optional(),
  maxReplays: int(0).default(DEFAULT_MAX_REPLAYS),
  /** A worker stream silent this long after its first token fails over (a hung worker), ms. */
  stallTimeoutMs: int(1).default(DEFAULT_STALL_TIMEOUT_MS),
  maxMessageMib: z.coerce.number().positive().default(64),
  /** The largest message a client may send (a GenerateRequest), MiB; the HTTP body limit is the same 4 MiB. */
  maxRequestMib: z.coerce.number().positive().default(DEFAULT_MAX_REQUEST_MIB),
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
  /** This router's id (the autoscaler lease's holder name): letters, digits, - and _; default host-pid. */
  routerId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, { error: "must be 1-128 characters of [A-Za-z0-9_-] (a pod name fits)" })
    .default(() => `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, "-")),
  /** Autoscaling bounds, "MIN..MAX" workers; absent = the autoscaler is off. */
  autoscale: z
    .string()
    .regex(/^\d+\.\.\d+$/, { error: "must be MIN..MAX, e.g. 1..4" })
    .transform((v) => {
      const [min, max] = v.split("..").map(Number) as [number, number];
      return { min, max };
    })
    .refine((r) => r.min >= 1, { error: "MIN must be at least 1 (scale to zero is not supported: nothing would hold requests meanwhile)" })
    .refine((r) => r.max >= r.min, { error: "MAX must be at least MIN" })
    .optional(),
  autoscaleProvider: z.enum(["kubernetes", "local-process"]).optional(),
  /** Seconds between decisions. */
  autoscaleIntervalS: z.coerce.number().positive().default(15),
  /** Hold after a scale-up while the new worker warms up, s. */
  autoscaleWarmupS: z.coerce.number().min(0).default(DEFAULT_SCALE_POLICY.warmupMs / 1000),
  /** The down condition must hold this long before a scale-down (stabilization window), s. */
  autoscaleDownWindowS: z.coerce.number().min(0).default(DEFAULT_SCALE_POLICY.downWindowMs / 1000),
  /** TTFT SLO (p90 over an interval), ms; 0 = not a scaling signal. */
  autoscaleTtftSloMs: int(0).default(DEFAULT_SCALE_POLICY.ttftSloMs),
  /** How long a scale-down waits for its worker to drain with migration, s. */
  autoscaleDrainTimeoutS: z.coerce.number().positive().default(120),
  /** Scale up at this many waiting requests per ready worker; scale down only at or below the down value. */
  autoscaleUpWaiting: z.coerce.number().positive().default(DEFAULT_SCALE_POLICY.upWaitingPerWorker),
  autoscaleDownWaiting: z.coerce.number().min(0).default(DEFAULT_SCALE_POLICY.downWaitingPerWorker),
  /** Scale up when the fullest K or V pool reaches this usage; scale down only at or below the down value. */
  autoscaleUpKvUsage: z.coerce.number().gt(0).max(1).default(DEFAULT_SCALE_POLICY.upKvUsage),
  autoscaleDownKvUsage: z.coerce.number().min(0).max(1).default(DEFAULT_SCALE_POLICY.downKvUsage),
  /** Workers added or removed per decision. */
  autoscaleMaxStep: int(1).default(DEFAULT_SCALE_POLICY.maxStep),
  /** How long the autoscaler lease lasts without renewal, s: a dead leader is replaced within it. */
  autoscaleLeaseTtlS: z.coerce.number().min(1).default(10),
  /** local-process provider: the worker's command line as a JSON array of strings; --worker-id ID is appended. */
  autoscaleWorkerCommand: z
    .string()
    .transform((v, ctx) => {
      try {
        const parsed: unknown = JSON.parse(v);
        if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === "string")) return parsed as string[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: "custom", message: 'must be a JSON array of strings, e.g. ["node","apps/worker/dist/main.js","--preset","sigma-tiny"]' });
      return z.NEVER;
    })
    .optional(),
  /** local-process provider: worker ids are PREFIX-0, PREFIX-1, ... (routers on one bus need different prefixes). */
  autoscaleWorkerIdPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, { error: "must be 1-100 characters of [A-Za-z0-9_-]" }).default("worker"),
  /** kubernetes provider: the namespace of the worker Deployment (default: this pod's, from its service account). */
  k8sNamespace: z.string().min(1).optional(),
  /** kubernetes provider: the worker Deployment whose scale the autoscaler sets. */
  k8sWorkerDeployment: z.string().min(1).optional(),
  /** Discover workers from this Service's EndpointSlices instead of the NATS registry. */
  k8sWorkerService: z.string().min(1).optional(),
  /**
   * TLS of the public door (gRPC and HTTPS on the HTTP port): certificate and key files. With --tls-client-ca,
   * clients must present a certificate signed by it (mutual TLS). Files are re-read every tlsRefreshS.
   */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  tlsClientCa: z.string().min(1).optional(),
  /**
   * Mutual TLS to the workers: the CA their certificates are checked against and the router's client
   * identity. All three or none, because a worker with TLS always requires a client certificate.
   */
  workerTlsCa: z.string().min(1).optional(),
  workerTlsCert: z.string().min(1).optional(),
  workerTlsKey: z.string().min(1).optional(),
  /** The name workers' certificates carry, when it is not the host of their registered address (pod IPs). */
  workerTlsServerName: z.string().min(1).optional(),
  /** How often TLS files are re-read, s: a rotated certificate is in use within this. */
  tlsRefreshS: z.coerce.number().positive().default(DEFAULT_TLS_REFRESH_INTERVAL_MS / 1000),
})
  .refine((c) => c.autoscale === undefined || c.autoscaleProvider !== undefined, { error: "give the provider that runs the workers (kubernetes or local-process)", path: ["autoscaleProvider"] })
  .refine((c) => c.autoscaleProvider !== "local-process" || c.autoscaleWorkerCommand !== undefined, { error: "the local-process provider needs the worker's command line", path: ["autoscaleWorkerCommand"] })
  .refine((c) => c.autoscaleProvider !== "kubernetes" || c.k8sWorkerDeployment !== undefined, { error: "the kubernetes provider needs the worker Deployment's name", path: ["k8sWorkerDeployment"] })
  .refine((c) => c.autoscaleUpWaiting > c.autoscaleDownWaiting, { error: "must be above --autoscale-down-waiting (hysteresis needs a band between them)", path: ["autoscaleUpWaiting"] })
  .refine((c) => c.autoscaleUpKvUsage > c.autoscaleDownKvUsage, { error: "must be above --autoscale-down-kv-usage (hysteresis needs a band between them)", path: ["autoscaleUpKvUsage"] })
  // TLS fails closed: half a configuration is refused here, a file that cannot be used when the router starts.
  .refine((c) => c.tlsCert === undefined || c.tlsKey !== undefined, { error: "needs --tls-key (the certificate's private key)", path: ["tlsCert"] })
  .refine((c) => c.tlsKey === undefined || c.tlsCert !== undefined, { error: "needs --tls-cert (the key's certificate)", path: ["tlsKey"] })
  .refine((c) => c.tlsClientCa === undefined || c.tlsCert !== undefined, { error: "client certificates are checked only over TLS: give --tls-cert and --tls-key too", path: ["tlsClientCa"] })
  .refine((c) => c.workerTlsCert === undefined || c.workerTlsKey !== undefined, { error: "needs --worker-tls-key (the certificate's private key)", path: ["workerTlsCert"] })
  .refine((c) => c.workerTlsKey === undefined || c.workerTlsCert !== undefined, { error: "needs --worker-tls-cert (the key's certificate)", path: ["workerTlsKey"] })
  .refine((c) => c.workerTlsCert === undefined || c.workerTlsCa !== undefined, { error: "a client identity for the workers needs --worker-tls-ca (the CA their certificates are checked against)", path: ["workerTlsCert"] })
  .refine((c) => c.workerTlsCa === undefined || c.workerTlsCert !== undefined, { error: "workers with TLS require a client certificate (mutual TLS): give --worker-tls-cert and --worker-tls-key too", path: ["workerTlsCa"] })
  .refine((c) => c.workerTlsServerName === undefined || c.workerTlsCa !== undefined, { error: "only with --worker-tls-ca (TLS to the workers)", path: ["workerTlsServerName"] });

export type RouterConfig = Readonly<z.output<typeof RouterConfigSchema>>;

const FLAGS = {
  host: "host",
  "grpc-port": "grpcPort",
  "http-port": "httpPort",
  "health-port": "healthPort",
  nats: "nats",
  "nats-creds": "natsCreds",
  "nats-nkey-seed-file": "natsNkeySeedFile",
  "nats-user": "natsUser",
  "nats-password-file": "natsPasswordFile",
  "nats-token-file": "natsTokenFile",
  "nats-tls-ca": "natsTlsCa",
  "nats-tls-cert": "natsTlsCert",
  "nats-tls-key": "natsTlsKey",
  workers: "workers",
  policy: "policy",
  "api-keys-file": "apiKeysFile",
  "api-keys": "apiKeys",
  "max-in-flight": "maxInFlight",
  "max-queued": "maxQueued",
  "tenant-max-in-flight": "tenantMaxInFlight",
  "tenant-max-queued": "tenantMaxQueued",
  "tenant-requests-per-s": "tenantRequestsPerS",
  "tenant-requests-burst": "tenantRequestsBurst",
  "tenant-tokens-per-s": "tenantTokensPerS",
  "tenant-tokens-burst": "tenantTokensBurst",
  "tenant-salt-key-file": "tenantSaltKeyFile",
  "max-replays": "maxReplays",
  "stall-timeout-ms": "stallTimeoutMs",
  "max-message-mib": "maxMessageMib",
  "max-request-mib": "maxRequestMib",
  "cache-pull-min-blocks": "cachePullMinBlocks",
  "split-min-prompt-tokens": "splitMinPromptTokens",
  "split-max-prefill-queue": "splitMaxPrefillQueue",
  "otlp-endpoint": "otlpEndpoint",
  "trace-content": "traceContent",
  "router-id": "routerId",
  autoscale: "autoscale",
  "autoscale-provider": "autoscaleProvider",
  "autoscale-interval-s": "autoscaleIntervalS",
  "autoscale-warmup-s": "autoscaleWarmupS",
  "autoscale-down-window-s": "autoscaleDownWindowS",
  "autoscale-ttft-slo-ms": "autoscaleTtftSloMs",
  "autoscale-drain-timeout-s": "autoscaleDrainTimeoutS",
  "autoscale-up-waiting": "autoscaleUpWaiting",
  "autoscale-down-waiting": "autoscaleDownWaiting",
  "autoscale-up-kv-usage": "autoscaleUpKvUsage",
  "autoscale-down-kv-usage": "autoscaleDownKvUsage",
  "autoscale-max-step": "autoscaleMaxStep",
  "autoscale-lease-ttl-s": "autoscaleLeaseTtlS",
  "autoscale-worker-command": "autoscaleWorkerCommand",
  "autoscale-worker-id-prefix": "autoscaleWorkerIdPrefix",
  "k8s-namespace": "k8sNamespace",
  "k8s-worker-deployment": "k8sWorkerDeployment",
  "k8s-worker-service": "k8sWorkerService",
  "tls-cert": "tlsCert",
  "tls-key": "tlsKey",
  "tls-client-ca": "tlsClientCa",
  "worker-tls-ca": "workerTlsCa",
  "worker-tls-cert": "workerTlsCert",
  "worker-tls-key": "workerTlsKey",
  "worker-tls-server-name": "workerTlsServerName",
  "tls-refresh-s": "tlsRefreshS",
} as const;

/** Flags that take no value (present = true); their SIGMASERVE_ROUTER_* variables take true/false/1/0. */
const BOOLEAN_FLAGS = new Set(["trace-content"]);

/** Each flag's value placeholder (none for a flag without a value) and description: the help is generated from this and the schema's defaults. */
const FLAG_HELP: Record<keyof typeof FLAGS, readonly [placeholder: string, description: string]> = {
  host: ["HOST", "the address gRPC and HTTP listen on"],
  "grpc-port": ["N", "gRPC port; 0: the OS picks (logged at start)"],
  "http-port": ["N", "OpenAI-compatible HTTP port (also /metrics, /status); 0: the OS picks"],
  "health-port": ["N", "plaintext port serving only gRPC health (for probes when --tls-cert is on); 0: the OS picks; unset: none"],
  nats: ["URL", "find workers in the NATS registry (one of --nats, --workers, --k8s-worker-service is needed)"],
  "nats-creds": ["FILE", "NATS .creds file (user JWT + nkey seed); one credential kind at most"],
  "nats-nkey-seed-file": ["FILE", "file with a NATS user nkey seed (SU...)"],
  "nats-user": ["USER", "NATS user; the password comes from --nats-password-file"],
  "nats-password-file": ["FILE", "file with the NATS user's password (re-read at each reconnect)"],
  "nats-token-file": ["FILE", "file with the NATS token"],
  "nats-tls-ca": ["FILE", "PEM CA that signs the NATS server's certificate (turns TLS on)"],
  "nats-tls-cert": ["FILE", "PEM client certificate for NATS (needs --nats-tls-key)"],
  "nats-tls-key": ["FILE", "PEM private key of --nats-tls-cert"],
  workers: ["HOST:PORT,...", "a static worker list, when there is no bus"],
  policy: ["NAME", `routing policy: ${ROUTING_POLICIES.join(" | ")}`],
  "api-keys-file": ["FILE", "API keys as JSON {\"KEY\": \"TENANT\"} or {\"KEY\": {\"tenant\": \"T\", \"requestsPerS\": N, ...}}, KEY plain or sha256:HEX (sigmaserve keys hash); reloaded on change and SIGHUP; without keys the router is open (every request is tenant \"default\")"],
  "api-keys": ["KEY=TENANT,...", "API keys inline (prefer the file or SIGMASERVE_ROUTER_API_KEYS: flags land in shell history)"],
  "max-in-flight": ["N", "requests running at once; more wait in the queue"],
  "max-queued": ["N", "requests waiting for a slot; more are refused (overloaded)"],
  "tenant-max-in-flight": ["N", "requests one tenant may have in flight (default: half of --max-in-flight with API keys on, else all of it)"],
  "tenant-max-queued": ["N", "requests one tenant may have waiting for its own slot; more are refused (default: half of --max-queued with API keys on, else all of it)"],
  "tenant-requests-per-s": ["N", "requests per second per tenant, per router; 0: off"],
  "tenant-requests-burst": ["N", "requests a quiet tenant may send at once (default: one second's worth)"],
  "tenant-tokens-per-s": ["N", "prompt + max_tokens tokens per second per tenant, per router; 0: off"],
  "tenant-tokens-burst": ["N", "tokens a quiet tenant may reserve at once (default: one second's worth)"],
  "tenant-salt-key-file": ["FILE", "key of the tenant cache salts, at least 32 bytes, the same on every router (default: SIGMASERVE_ROUTER_TENANT_SALT_KEY, else a key shared on the bus, else one per process)"],
  "max-replays": ["N", "failovers of one request by token replay before it fails"],
  "stall-timeout-ms": ["MS", "a worker stream silent this long after its first token fails over to another worker (a hung worker)"],
  "max-message-mib": ["MIB", "gRPC message limit towards workers and of answers to clients, MiB"],
  "max-request-mib": ["MIB", "largest request a client may send over gRPC, MiB (bigger: RESOURCE_EXHAUSTED)"],
  "cache-pull-min-blocks": ["N", "fewest missing blocks for a cache pull from the holder to the picked worker (needs the bus); 0: off, 4 is a start"],
  "split-min-prompt-tokens": ["N", "a prefill/decode split needs at least this many prompt tokens not cached on the decode worker"],
  "split-max-prefill-queue": ["N", "... and a --role prefill worker with at most this many requests queued"],
  "otlp-endpoint": ["URL", "OTLP/HTTP collector for traces (http://host:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT, else off"],
  "trace-content": ["", `record prompt and output text on request spans (default: ${CAPTURE_MESSAGE_CONTENT_ENV}, else off)`],
  "router-id": ["ID", "this router's id (the autoscaler lease's holder name)"],
  autoscale: ["MIN..MAX", "autoscale between MIN and MAX workers (needs the bus and --autoscale-provider); unset: off"],
  "autoscale-provider": ["kubernetes|local-process", "what runs the workers"],
  "autoscale-interval-s": ["S", "seconds between scaling decisions"],
  "autoscale-warmup-s": ["S", "hold after a scale-up while the new worker warms up, s"],
  "autoscale-down-window-s": ["S", "the down condition must hold this long before a scale-down, s"],
  "autoscale-ttft-slo-ms": ["MS", "TTFT SLO (p90 over an interval), ms; 0: not a scaling signal"],
  "autoscale-drain-timeout-s": ["S", "how long a scale-down waits for its worker to drain with migration, s"],
  "autoscale-up-waiting": ["N", "scale up at this many waiting requests per ready worker"],
  "autoscale-down-waiting": ["N", "scale down only at or below this many waiting requests per ready worker"],
  "autoscale-up-kv-usage": ["RATIO", "scale up when the fullest K or V pool reaches this usage"],
  "autoscale-down-kv-usage": ["RATIO", "scale down only at or below this K and V pool usage"],
  "autoscale-max-step": ["N", "workers added or removed per decision"],
  "autoscale-lease-ttl-s": ["S", "how long the autoscaler lease lasts without renewal, s"],
  "autoscale-worker-command": ["JSON", 'local-process: the worker\'s command line as a JSON array (["node","apps/worker/dist/main.js","--preset","sigma-tiny"]); --worker-id ID is appended'],
  "autoscale-worker-id-prefix": ["PREFIX", "local-process: worker ids are PREFIX-0, PREFIX-1, ..."],
  "k8s-namespace": ["NS", "kubernetes: the worker Deployment's namespace (default: this pod's)"],
  "k8s-worker-deployment": ["NAME", "kubernetes: the worker Deployment whose scale the autoscaler sets"],
  "k8s-worker-service": ["NAME", "find workers from this Service's EndpointSlices instead of the NATS registry"],
  "tls-cert": ["FILE", "serve gRPC and HTTPS with this PEM certificate (chain); needs --tls-key; unset: plaintext"],
  "tls-key": ["FILE", "the PEM private key of --tls-cert"],
  "tls-client-ca": ["FILE", "require client certificates signed by this PEM CA on gRPC and HTTPS (mutual TLS)"],
  "worker-tls-ca": ["FILE", "mutual TLS to the workers: the PEM CA their certificates are checked against (with --worker-tls-cert, --worker-tls-key)"],
  "worker-tls-cert": ["FILE", "the router's PEM client certificate towards the workers"],
  "worker-tls-key": ["FILE", "the PEM private key of --worker-tls-cert"],
  "worker-tls-server-name": ["NAME", "the name the workers' certificates carry; default: the host of each worker's address"],
  "tls-refresh-s": ["S", "how often TLS files are re-read (a rotated certificate is in use within this), s"],
};

/** A default as help shows it: none for unset, off flags and empty lists; a per-process default described. */
function defaultText(flag: keyof typeof FLAGS, value: unknown): string {
  if (flag === "router-id") return " (default: HOSTNAME-PID)";
  if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return "";
  return ` (default: ${String(value)})`;
}

function usageText(): string {
  // NOTE: the defaults are the schema's own (parsed from nothing), so the help cannot drift from them.
  const defaults = RouterConfigSchema.parse({ traceContent: false }) as Record<string, unknown>;
  const rows = Object.entries(FLAG_HELP).map(([flag, [placeholder, description]]) => [`--${flag}${placeholder === "" ? "" : ` ${placeholder}`}`, `${description}${defaultText(flag as keyof typeof FLAGS, defaults[FLAGS[flag as keyof typeof FLAGS]])}`] as const);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return [
    "usage: sigmaserve router (--nats URL | --workers host:port,... | --k8s-worker-service NAME) [options]",
    "",
    "A router process: the public gRPC and OpenAI-compatible HTTP APIs, KV-aware routing over the workers, failover, admission.",
    "",
    "options:",
    ...rows.map(([label, text]) => `  ${label.padEnd(width)}${text}`),
    "",
    'Every flag can also be set as SIGMASERVE_ROUTER_<FLAG> (e.g. SIGMASERVE_ROUTER_API_KEYS="key1=tenantA,key2=tenantB"); flags win.',
  ].join("\n");
}

/** The router's help: every flag with its description and default. */
export const ROUTER_USAGE = usageText();

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
  raw["tenantSaltKey"] = env["SIGMASERVE_ROUTER_TENANT_SALT_KEY"] || undefined;
  const parsed = RouterConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const keyToFlag = Object.fromEntries(Object.entries(FLAGS).map(([flag, key]) => [key, flag]));
    throw new RouterConfigError(parsed.error.issues.map((i) => `--${keyToFlag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join("; "));
  }
  checkNatsSecurityFlags(parsed.data);
  return Object.freeze(parsed.data);
}

/** Fails closed on an incomplete set of NATS credential or TLS flags (a cert without its key, two kinds), naming the flag. */
function checkNatsSecurityFlags(config: z.output<typeof RouterConfigSchema>): void {
  const problem = natsSecurityFlagsProblem(config);
  if (problem !== undefined) throw new RouterConfigError(problem);
}
