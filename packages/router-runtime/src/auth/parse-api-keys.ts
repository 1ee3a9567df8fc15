/**
 * The keys file and SIGMASERVE_ROUTER_API_KEYS, parsed into entries that hold
 * digests, not keys. Two forms:
 *
 * - JSON: {"<key>": "<tenant>", "<key>": {"tenant": "<tenant>", "requestsPerS": 5, ...}}.
 *   An object entry may override the tenant's limits (TenantLimitOverrides);
 *   every entry of one tenant should agree (the first entry's limits win).
 * - Inline: "key1=tenantA,key2=tenantB".
 *
 * In both, a key may be written `sha256:<64 hex digits>` (its digest,
 * api-key-digest.ts) so the text holds no usable key. Errors name the entry's
 * position (1-based, in file order), never the key: they end up in logs.
 */
import { z } from "zod";
import { RouterConfigError } from "../errors.js";
import { API_KEY_DIGEST_PREFIX, apiKeyDigest } from "./api-key-digest.js";
import type { TenantLimitOverrides } from "./api-keys.js";

export interface ApiKeyEntry {
  /** SHA-256 of the key, 32 bytes. */
  digest: Buffer;
  tenant: string;
  /** Absent: the router's --tenant-* limits. */
  limits?: TenantLimitOverrides;
}

const rate = z.number({ error: "must be a number" }).finite().min(0, { error: "must be at least 0 (0: no limit for this tenant)" });
const burst = z.number({ error: "must be a number" }).finite().positive({ error: "must be above 0" });

const EntryObjectSchema = z.strictObject(
  {
    tenant: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
    /** Requests per second; 0: no limit for this tenant. */
    requestsPerS: rate.optional(),
    requestsBurst: burst.optional(),
    /** Prompt + max_tokens tokens per second; 0: no limit for this tenant. */
    tokensPerS: rate.optional(),
    tokensBurst: burst.optional(),
    /** Requests in flight at once on one router. */
    maxInFlight: z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` : undefined) },
);

/** The digest a key stands for: its own, or the one it spells as sha256:HEX. */
function digestOf(key: string, where: string): Buffer {
  if (key === "") throw new RouterConfigError(`${where}: the key is empty`);
  if (!key.startsWith(API_KEY_DIGEST_PREFIX)) return apiKeyDigest(key);
  const hex = key.slice(API_KEY_DIGEST_PREFIX.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RouterConfigError(`${where}: a key written as ${API_KEY_DIGEST_PREFIX}... needs exactly 64 hex digits after the prefix (sigmaserve keys hash prints it)`);
  return Buffer.from(hex, "hex");
}

function entryOf(key: string, value: unknown, where: string): ApiKeyEntry {
  const digest = digestOf(key, where);
  if (typeof value === "string") {
    if (value === "") throw new RouterConfigError(`${where}: the tenant name is empty`);
    return { digest, tenant: value };
  }
  const parsed = EntryObjectSchema.safeParse(value);
  if (!parsed.success) {
    // NOTE: a non-object has no path; object issues name the field, never the key (it is not in the path).
    const problems = parsed.error.issues.map((i) =>
      i.code === "unrecognized_keys" ? i.message : i.path.length === 0 ? 'must be a tenant name or an object {"tenant": ..., limits}' : `${i.path.join(".")}: ${i.message}`,
    );
    throw new RouterConfigError(`${where}: ${problems.join("; ")}`);
  }
  const { tenant, ...limits } = parsed.data;
  const overrides = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as TenantLimitOverrides;
  return Object.keys(overrides).length === 0 ? { digest, tenant } : { digest, tenant, limits: overrides };
}

/** Every entry of `text`; throws RouterConfigError naming `source` and the entry's position. */
export function parseApiKeys(text: string, source: string): ApiKeyEntry[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const entries: ApiKeyEntry[] = [];
  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      // NOTE: V8's message quotes a few characters of the text, which may be a key: say where, not what.
      const position = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new RouterConfigError(`${source}: not valid JSON${position === undefined ? "" : ` (at character ${position})`}`);
    }
    Object.entries(json as Record<string, unknown>).forEach(([key, value], i) => entries.push(entryOf(key, value, `${source}: entry ${i + 1}`)));
  } else {
    trimmed.split(",").forEach((pair, i) => {
      const [key, tenant, extra] = pair.split("=").map((s) => s.trim());
      if (key === undefined || tenant === undefined || extra !== undefined || tenant === "") throw new RouterConfigError(`${source}: pair ${i + 1}: expected "key=tenant" pairs separated by commas`);
      entries.push(entryOf(key, tenant, `${source}: pair ${i + 1}`));
    });
  }
  // The same key twice (once plain, once as its digest) would be two tenants for one key.
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const hex = entry.digest.toString("hex");
    const first = seen.get(hex);
    if (first !== undefined) throw new RouterConfigError(`${source}: entries ${first + 1} and ${i + 1} are the same key`);
    seen.set(hex, i);
  });
  return entries;
}
