/**
 * The worker's settings: one zod schema with named defaults and units,
 * filled from flags, then SIGMASERVE_WORKER_* environment variables, then
 * defaults; validated once and frozen. An error names the flag and the rule.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { WorkerConfigError } from "../errors.js";

export const DEFAULT_KV_DEVICE_MIB = 256;
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
    preset: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    /** The model id clients use (and the worker registers); default: the preset name or the model directory's name. */
    servedModelName: z.string().min(1).optional(),
    seed: int(0).default(0),
    kvDeviceMib: z.coerce.number().positive().default(DEFAULT_KV_DEVICE_MIB),
    kvHostMib: z.coerce.number().nonnegative().default(0),
    blockSize: int(1).max(1024).default(16),
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
    /** The address to register (host:port) when it differs from the listening one (containers, NAT). */
    advertise: z.string().min(1).optional(),
    /** Port of the HTTP server for Prometheus's /metrics; 0 = the OS picks one (logged at start); unset = none. */
    metricsPort: int(0).max(65_535).optional(),
    /** Where /metrics listens; default: --host. */
    metricsHost: z.string().min(1).optional(),
    /** OTLP/HTTP collector base URL for traces (spans go to URL/v1/traces); the OTEL_EXPORTER_OTLP_* variables otherwise. */
    otlpEndpoint: z.url({ error: "must be a URL such as http://127.0.0.1:4318" }).optional(),
  })
  .refine((c) => !(c.preset !== undefined && c.model !== undefined), { message: "give --preset or --model, not both", path: ["preset"] });

export type WorkerConfig = Readonly<z.output<typeof WorkerConfigSchema> & { modelSource: { preset: string } | { dir: string } }>;

const FLAGS = {
  "worker-id": "workerId",
  host: "host",
  port: "port",
  preset: "preset",
  model: "model",
  "served-model-name": "servedModelName",
  seed: "seed",
  "kv-device-mib": "kvDeviceMib",
  "kv-host-mib": "kvHostMib",
  "block-size": "blockSize",
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
  advertise: "advertise",
  "metrics-port": "metricsPort",
  "metrics-host": "metricsHost",
  "otlp-endpoint": "otlpEndpoint",
} as const;

/** Flags that take no value (present = true); their SIGMASERVE_WORKER_* variables take true/false/1/0. */
const BOOLEAN_FLAGS = new Set(["drain-migrate", "remote-tier"]);

/** Each flag's value placeholder (none for a flag without a value) and description: the help is generated from this and the schema's defaults. */
const FLAG_HELP: Record<keyof typeof FLAGS, readonly [placeholder: string, description: string]> = {
  "worker-id": ["ID", "this worker's id in the registry"],
  host: ["HOST", "the address gRPC listens on"],
  port: ["N", "gRPC port; 0: the OS picks one (logged at start)"],
  preset: ["NAME", "serve a demo model: sigma-tiny | sigma-tiny-gqa | sigma-1.5b | std-1.5b (sigma-tiny without --model)"],
  model: ["DIR", "serve a model directory (config.json, model.safetensors, tokenizer) instead of a preset"],
  "served-model-name": ["NAME", "the model id clients use and the worker registers; default: the preset name or the model directory's name"],
  seed: ["N", "weight seed of the preset's demo weights"],
  "kv-device-mib": ["MIB", "device memory for the K and V pools, MiB"],
  "kv-host-mib": ["MIB", "host memory for the V tier, MiB; 0: none"],
  "block-size": ["TOKENS", "tokens per KV block"],
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
  advertise: ["HOST:PORT", "the address to register when it differs from the listening one (containers, NAT)"],
  "metrics-port": ["N", "port of the Prometheus /metrics server; 0: the OS picks (logged at start); unset: none"],
  "metrics-host": ["HOST", "where /metrics listens; default: --host"],
  "otlp-endpoint": ["URL", "OTLP/HTTP collector for traces (http://host:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT, else off"],
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
  const modelSource = config.model !== undefined ? { dir: config.model } : { preset: config.preset ?? "sigma-tiny" };
  return Object.freeze({ ...config, modelSource });
}
