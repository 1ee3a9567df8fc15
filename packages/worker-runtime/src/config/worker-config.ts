/**
 * The worker's settings: one zod schema with named defaults and units,
 * filled from flags, then SIGMASERVE_WORKER_* environment variables, then
 * defaults; validated once and frozen. An error names the flag and the rule.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { natsSecurityFlagsProblem } from "@sigmaserve/coord";
import { z } from "zod";
import { DEFAULT_TLS_REFRESH_INTERVAL_MS } from "@sigmaserve/proto";
import { WorkerConfigError } from "../errors.js";

export const DEFAULT_KV_DEVICE_MIB = 256;
/**
 * Element type of the K and V pools unless --kv-dtype says otherwise: bf16, as in the Sigma paper (half the
 * bytes of f32, so twice the tokens per GiB; f32's range, about 2^-8 relative precision). f32 stays available
 * as the oracle the 16-bit pools are measured against (bench/kv-dtype).
 */
export const DEFAULT_KV_DTYPE = "bf16";
/** The pools' element types (kvcache's KvDtype). */
export const KV_DTYPE_CHOICES = ["f32", "bf16", "f16"] as const;
export const DEFAULT_MAX_BATCH_TOKENS = 512;
export const DEFAULT_MAX_NUM_SEQS = 64;
/** Largest max_tokens a request may ask for. */
export const DEFAULT_MAX_TOKENS_LIMIT = 2048;
/** gRPC message limit, MiB: KV transfer frames exceed grpc-js's 4 MiB default. */
export const DEFAULT_MAX_MESSAGE_MIB = 64;
/** Bound of the remote tier's bucket, MiB, and how long an object lives there, s. */
export const DEFAULT_REMOTE_TIER_MAX_MIB = 1_024;
export const DEFAULT_REMOTE_TIER_TTL_S = 3_600;
/** Blocks a prompt must lack before the worker asks the remote tier (each ask is a round trip). */
export const DEFAULT_REMOTE_TIER_FETCH_MIN_BLOCKS = 4;
/** How often a worker writes its hot prefixes to the remote tier, ms. */
export const DEFAULT_REMOTE_TIER_PUBLISH_MS = 10_000;
/**
 * Share of the KV pool's blocks one tenant (cache salt) may hold cached before its own blocks are the first
 * to give up room. 1 = off (plain LRU). Off by default: it only decides who pays when tenants compete (a
 * tenant alone still uses the whole cache), but it moves hit rates, and no multi-tenant bench has measured
 * it yet. 0.5 is a start for deployments with API keys (one tenant can no longer flush the others).
 */
export const DEFAULT_TENANT_MAX_CACHED_FRACTION = 1;
/** How long a migration source keeps offered blocks pinned for the target's pull, ms. */
export const DEFAULT_MIGRATION_LEASE_MS = 60_000;

const int = (min: number) => z.coerce.number().int().min(min);
/** A flag without a value (true when given); its SIGMASERVE_WORKER_* variable takes true/false/1/0. Off by default. */
const flag = () =>
  z
    .union([z.boolean(), z.enum(["true", "false", "1", "0"])], { error: "must be true, false, 1 or 0" })
    .transform((v) => v === true || v === "true" || v === "1")
    .default(false);

export const WorkerConfigSchema = z
  .object({
    workerId: z.string().min(1).default(() => `${hostname()}-${process.pid}`),
    host: z.string().min(1).default("127.0.0.1"),
    /** 0 = the OS picks a free port (printed at start). */
    port: int(0).max(65_535).default(0),
    /**
     * Plaintext port that serves only grpc.health.v1 (the main port's statuses), for probes that cannot speak
     * mutual TLS (Kubernetes' gRPC probes); 0 = the OS picks; unset = none.
     */
    healthPort: int(0).max(65_535).optional(),
    preset: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    /** The model id clients use (and the worker registers); default: the preset name or the model directory's name. */
    servedModelName: z.string().min(1).optional(),
    seed: int(0).default(0),
    kvDeviceMib: z.coerce.number().positive().default(DEFAULT_KV_DEVICE_MIB),
    kvHostMib: z.coerce.number().nonnegative().default(0),
    blockSize: int(1).max(1024).default(16),
    /** Element type of both pools; --kv-k-dtype / --kv-v-dtype override one component. */
    kvDtype: z.enum(KV_DTYPE_CHOICES, { error: "must be f32, bf16 or f16" }).default(DEFAULT_KV_DTYPE),
    kvKDtype: z.enum(KV_DTYPE_CHOICES, { error: "must be f32, bf16 or f16" }).optional(),
    kvVDtype: z.enum(KV_DTYPE_CHOICES, { error: "must be f32, bf16 or f16" }).optional(),
    /** Most of the pool's blocks one tenant may hold cached before its own go first, in (0, 1]; 1 = off. */
    tenantMaxCachedFraction: z.coerce.number().gt(0).max(1).default(DEFAULT_TENANT_MAX_CACHED_FRACTION),
    /** 0 = full attention. With host memory, selective-V mode keeps old V on the host. */
    selectiveVTopk: int(0).default(0),
    maxBatchTokens: int(1).default(DEFAULT_MAX_BATCH_TOKENS),
    maxNumSeqs: int(1).default(DEFAULT_MAX_NUM_SEQS),
    maxTokensLimit: int(1).default(DEFAULT_MAX_TOKENS_LIMIT),
    intraOpThreads: int(1).max(64).default(1),
    maxMessageMib: z.coerce.number().positive().default(DEFAULT_MAX_MESSAGE_MIB),
    migrationLeaseMs: int(1).default(DEFAULT_MIGRATION_LEASE_MS),
    /** Use the shared remote tier: warm the cache from it at start-up, write hot prefixes to it (every remoteTierPublishMs, and at drain). Needs --nats (or the memory bus). */
    remoteTier: flag(),
    remoteTierMaxMib: z.coerce.number().positive().default(DEFAULT_REMOTE_TIER_MAX_MIB),
    remoteTierTtlS: int(1).default(DEFAULT_REMOTE_TIER_TTL_S),
    /** 0: write only at drain. */
    remoteTierPublishMs: int(0).default(DEFAULT_REMOTE_TIER_PUBLISH_MS),
    /** A request missing at least this many blocks of its prompt asks the remote tier for them before it runs. */
    remoteTierFetchMinBlocks: int(1).default(DEFAULT_REMOTE_TIER_FETCH_MIN_BLOCKS),
    /** Its part in a prefill/decode split: the router sends a prefill worker only prompts (and takes the KV elsewhere to decode). */
    role: z.enum(["both", "prefill", "decode"]).default("both"),
    /** On SIGTERM, hand running requests and hot prefixes over to peers (drain with migration) instead of finishing them here. */
    drainMigrate: flag(),
    /** NATS URL of the coordination bus; without it the worker is reachable only by address. */
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
    /** The address to register (host:port) when it differs from the listening one (containers, NAT). */
    advertise: z.string().min(1).optional(),
    /** Port of the HTTP server for Prometheus's /metrics; 0 = the OS picks one (logged at start); unset = none. */
    metricsPort: int(0).max(65_535).optional(),
    /** Where /metrics listens; default: --host. */
    metricsHost: z.string().min(1).optional(),
    /** OTLP/HTTP collector base URL for traces (spans go to URL/v1/traces); the OTEL_EXPORTER_OTLP_* variables otherwise. */
    otlpEndpoint: z.url({ error: "must be a URL such as http://127.0.0.1:4318" }).optional(),
    /**
     * Mutual TLS on every hop of this worker: its gRPC server presents tlsCert and requires client certificates
     * signed by tlsCa (the router's, peers'), and its pulls from peers present the same certificate and check
     * theirs against tlsCa. All three or none: a worker's peers are ours, so TLS without client certificates
     * would let anyone who reaches the port call ExportKv and read another tenant's blocks.
     */
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsCa: z.string().min(1).optional(),
    /** The name peers' certificates carry, when it is not the host of their registered address (pod IPs). */
    peerTlsServerName: z.string().min(1).optional(),
    /** How often TLS files are re-read, s: a rotated certificate is in use within this. */
    tlsRefreshS: z.coerce.number().positive().default(DEFAULT_TLS_REFRESH_INTERVAL_MS / 1000),
  })
  .refine((c) => !(c.preset !== undefined && c.model !== undefined), { message: "give --preset or --model, not both", path: ["preset"] })
  // TLS fails closed: half a configuration is refused here, a file that cannot be used when the worker starts.
  .refine((c) => c.tlsCert === undefined || c.tlsKey !== undefined, { message: "needs --tls-key (the certificate's private key)", path: ["tlsCert"] })
  .refine((c) => c.tlsKey === undefined || c.tlsCert !== undefined, { message: "needs --tls-cert (the key's certificate)", path: ["tlsKey"] })
  .refine((c) => c.tlsCert === undefined || c.tlsCa !== undefined, { message: "needs --tls-ca: a worker's TLS is always mutual (the CA that signs the router's and peers' certificates)", path: ["tlsCert"] })
  .refine((c) => c.tlsCa === undefined || c.tlsCert !== undefined, { message: "needs --tls-cert and --tls-key (the worker's own certificate, served and presented to peers)", path: ["tlsCa"] })
  .refine((c) => c.peerTlsServerName === undefined || c.tlsCa !== undefined, { message: "only with --tls-ca, --tls-cert and --tls-key", path: ["peerTlsServerName"] });

export type WorkerConfig = Readonly<z.output<typeof WorkerConfigSchema> & { modelSource: { preset: string } | { dir: string } }>;

const FLAGS = {
  "worker-id": "workerId",
  host: "host",
  port: "port",
  "health-port": "healthPort",
  preset: "preset",
  model: "model",
  "served-model-name": "servedModelName",
  seed: "seed",
  "kv-device-mib": "kvDeviceMib",
  "kv-host-mib": "kvHostMib",
  "block-size": "blockSize",
  "kv-dtype": "kvDtype",
  "kv-k-dtype": "kvKDtype",
  "kv-v-dtype": "kvVDtype",
  "tenant-max-cached-fraction": "tenantMaxCachedFraction",
  "selective-v-topk": "selectiveVTopk",
  "max-batch-tokens": "maxBatchTokens",
  "max-num-seqs": "maxNumSeqs",
  "max-tokens-limit": "maxTokensLimit",
  "intra-op-threads": "intraOpThreads",
  "max-message-mib": "maxMessageMib",
  "migration-lease-ms": "migrationLeaseMs",
  "drain-migrate": "drainMigrate",
  role: "role",
  "remote-tier": "remoteTier",
  "remote-tier-max-mib": "remoteTierMaxMib",
  "remote-tier-ttl-s": "remoteTierTtlS",
  "remote-tier-publish-ms": "remoteTierPublishMs",
  "remote-tier-fetch-min-blocks": "remoteTierFetchMinBlocks",
  nats: "nats",
  "nats-creds": "natsCreds",
  "nats-nkey-seed-file": "natsNkeySeedFile",
  "nats-user": "natsUser",
  "nats-password-file": "natsPasswordFile",
  "nats-token-file": "natsTokenFile",
  "nats-tls-ca": "natsTlsCa",
  "nats-tls-cert": "natsTlsCert",
  "nats-tls-key": "natsTlsKey",
  advertise: "advertise",
  "metrics-port": "metricsPort",
  "metrics-host": "metricsHost",
  "otlp-endpoint": "otlpEndpoint",
  "tls-cert": "tlsCert",
  "tls-key": "tlsKey",
  "tls-ca": "tlsCa",
  "peer-tls-server-name": "peerTlsServerName",
  "tls-refresh-s": "tlsRefreshS",
} as const;

/** Flags that take no value (present = true); their SIGMASERVE_WORKER_* variables take true/false/1/0. */
const BOOLEAN_FLAGS = new Set(["drain-migrate", "remote-tier"]);

/** Each flag's value placeholder (none for a flag without a value) and description: the help is generated from this and the schema's defaults. */
const FLAG_HELP: Record<keyof typeof FLAGS, readonly [placeholder: string, description: string]> = {
  "worker-id": ["ID", "this worker's id in the registry"],
  host: ["HOST", "the address gRPC listens on"],
  port: ["N", "gRPC port; 0: the OS picks one (logged at start)"],
  "health-port": ["N", "plaintext port serving only gRPC health (for probes when --tls-cert is on); 0: the OS picks; unset: none"],
  preset: ["NAME", "serve a demo model: sigma-tiny | sigma-tiny-gqa | sigma-1.5b | std-1.5b (sigma-tiny without --model)"],
  model: ["DIR", "serve a model directory (config.json, model.safetensors, tokenizer) instead of a preset"],
  "served-model-name": ["NAME", "the model id clients use and the worker registers; default: the preset name or the model directory's name"],
  seed: ["N", "weight seed of the preset's demo weights"],
  "kv-device-mib": ["MIB", "device memory for the K and V pools, MiB"],
  "kv-host-mib": ["MIB", "host memory for the V tier, MiB; 0: none"],
  "block-size": ["TOKENS", "tokens per KV block"],
  "kv-dtype": ["f32|bf16|f16", "element type of the K and V pools (bf16 and f16: half the bytes of f32, twice the tokens)"],
  "kv-k-dtype": ["f32|bf16|f16", "element type of the K pool; default: --kv-dtype"],
  "kv-v-dtype": ["f32|bf16|f16", "element type of the V pools (device and host); default: --kv-dtype"],
  "tenant-max-cached-fraction": ["RATIO", "share of KV blocks one tenant may hold cached before its own are evicted first, in (0, 1]; 1: off"],
  "selective-v-topk": ["K", "V rows read per decode step (selective V); 0: full attention"],
  "max-batch-tokens": ["N", "most tokens in one batch step (prefill chunks and decodes)"],
  "max-num-seqs": ["N", "most sequences in one batch"],
  "max-tokens-limit": ["N", "largest max_tokens a request may ask for"],
  "intra-op-threads": ["N", "ONNX Runtime intra-op threads"],
  "max-message-mib": ["MIB", "gRPC message limit, MiB (KV transfer frames exceed grpc-js's 4 MiB default)"],
  "migration-lease-ms": ["MS", "how long a migration source keeps offered blocks pinned for the target's pull, ms"],
  "drain-migrate": ["", "on SIGTERM, hand running requests and hot prefixes to peers (drain with migration) instead of finishing them here"],
  role: ["both|prefill|decode", "its part in a prefill/decode split: a prefill worker gets only prompts"],
  "remote-tier": ["", "use the shared remote tier (needs --nats): warm the cache from it at start-up, write hot prefixes to it"],
  "remote-tier-max-mib": ["MIB", "bound of the remote tier's bucket, MiB"],
  "remote-tier-ttl-s": ["S", "how long an object lives in the remote tier, s"],
  "remote-tier-publish-ms": ["MS", "how often hot prefixes are written to the remote tier, ms; 0: only at drain"],
  "remote-tier-fetch-min-blocks": ["N", "a request missing at least this many prompt blocks asks the remote tier for them"],
  nats: ["URL", "NATS URL of the coordination bus; without it the worker is reachable only by address"],
  "nats-creds": ["FILE", "NATS .creds file (user JWT + nkey seed); one credential kind at most"],
  "nats-nkey-seed-file": ["FILE", "file with a NATS user nkey seed (SU...)"],
  "nats-user": ["USER", "NATS user; the password comes from --nats-password-file"],
  "nats-password-file": ["FILE", "file with the NATS user's password (re-read at each reconnect)"],
  "nats-token-file": ["FILE", "file with the NATS token"],
  "nats-tls-ca": ["FILE", "PEM CA that signs the NATS server's certificate (turns TLS on)"],
  "nats-tls-cert": ["FILE", "PEM client certificate for NATS (needs --nats-tls-key)"],
  "nats-tls-key": ["FILE", "PEM private key of --nats-tls-cert"],
  advertise: ["HOST:PORT", "the address to register when it differs from the listening one (containers, NAT)"],
  "metrics-port": ["N", "port of the Prometheus /metrics server; 0: the OS picks (logged at start); unset: none"],
  "metrics-host": ["HOST", "where /metrics listens; default: --host"],
  "otlp-endpoint": ["URL", "OTLP/HTTP collector for traces (http://host:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT, else off"],
  "tls-cert": ["FILE", "mutual TLS (with --tls-key and --tls-ca): this worker's PEM certificate, served and presented to peers; unset: plaintext"],
  "tls-key": ["FILE", "the PEM private key of --tls-cert"],
  "tls-ca": ["FILE", "the PEM CA that signs the router's and peers' certificates: clients without one are refused"],
  "peer-tls-server-name": ["NAME", "the name peers' certificates carry; default: the host of each peer's address"],
  "tls-refresh-s": ["S", "how often TLS files are re-read (a rotated certificate is in use within this), s"],
};

/** A default as help shows it: none for unset, off flags and empty lists; a per-process default described. */
function defaultText(flag: keyof typeof FLAGS, value: unknown): string {
  if (flag === "worker-id") return " (default: HOSTNAME-PID)";
  if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return "";
  return ` (default: ${String(value)})`;
}

function usageText(): string {
  const defaults = WorkerConfigSchema.parse({}) as Record<string, unknown>;
  const rows = Object.entries(FLAG_HELP).map(([flag, [placeholder, description]]) => [`--${flag}${placeholder === "" ? "" : ` ${placeholder}`}`, `${description}${defaultText(flag as keyof typeof FLAGS, defaults[FLAGS[flag as keyof typeof FLAGS]])}`] as const);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return [
    "usage: sigmaserve worker (--preset NAME [--seed N] | --model DIR) [options]",
    "",
    "A worker process: serves a model over gRPC, joins the cluster over NATS (--nats), drains on SIGTERM.",
    "",
    "options:",
    ...rows.map(([label, text]) => `  ${label.padEnd(width)}${text}`),
    "",
    "Every flag can also be set as SIGMASERVE_WORKER_<FLAG> (e.g. SIGMASERVE_WORKER_KV_DEVICE_MIB=512); flags win.",
  ].join("\n");
}

/** The worker's help: every flag with its description and default. */
export const WORKER_USAGE = usageText();

/** Each component's pool dtype: --kv-k-dtype / --kv-v-dtype where given, else --kv-dtype. */
export function kvDtypesOf(config: Pick<WorkerConfig, "kvDtype" | "kvKDtype" | "kvVDtype">): { k: (typeof KV_DTYPE_CHOICES)[number]; v: (typeof KV_DTYPE_CHOICES)[number] } {
  return { k: config.kvKDtype ?? config.kvDtype, v: config.kvVDtype ?? config.kvDtype };
}

/** Parses argv and env into a frozen config; throws WorkerConfigError naming the flag. */
export function loadWorkerConfig(argv: string[], env: NodeJS.ProcessEnv): WorkerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: BOOLEAN_FLAGS.has(flag) ? ("boolean" as const) : ("string" as const) }])), strict: true }).values;
  } catch (err) {
    throw new WorkerConfigError((err as Error).message);
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const fromEnv = env[`SIGMASERVE_WORKER_${flag.toUpperCase().replaceAll("-", "_")}`];
    raw[key] = values[flag] ?? fromEnv;
  }
  const parsed = WorkerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const keyToFlag = Object.fromEntries(Object.entries(FLAGS).map(([flag, key]) => [key, flag]));
    const issues = parsed.error.issues.map((issue) => `--${keyToFlag[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`);
    throw new WorkerConfigError(issues.join("; "));
  }
  const config = parsed.data;
  checkNatsSecurityFlags(config);
  const modelSource = config.model !== undefined ? { dir: config.model } : { preset: config.preset ?? "sigma-tiny" };
  return Object.freeze({ ...config, modelSource });
}

/** Fails closed on an incomplete set of NATS credential or TLS flags (a cert without its key, two kinds), naming the flag. */
function checkNatsSecurityFlags(config: z.output<typeof WorkerConfigSchema>): void {
  const problem = natsSecurityFlagsProblem(config);
  if (problem !== undefined) throw new WorkerConfigError(problem);
}
