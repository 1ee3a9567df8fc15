/**
 * API keys → tenants. Keys come from a JSON file or an environment variable
 * (parse-api-keys.ts has the forms); with none configured the router is open
 * and every request is the "default" tenant. The table can be replaced while
 * the router runs (api-keys-reloader.ts); a request authenticated before
 * keeps its tenant.
 *
 * Only digests are held (api-key-digest.ts). A presented key is hashed and
 * compared with every entry in constant time, with no early exit, so neither
 * a key's bytes nor which entry matched shows in the time taken.
 * NOTE: a Map keyed by digest would also be safe (its timing depends on the
 * digest of the presented key, which says nothing usable about a stored key);
 * the full scan was chosen because it is obviously constant, and key tables
 * are small (hundreds of entries cost microseconds per request).
 *
 * A tenant's cache salt isolates its prefix cache: two tenants never share a
 * block, so one cannot probe another's prompts through cache timing. Salts
 * are secret (tenant-salts.ts). The open router's one tenant has salt "": it
 * has nobody to be isolated from.
 */
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AuthenticationError } from "../errors.js";
import { apiKeyDigest } from "./api-key-digest.js";
import { parseApiKeys, type ApiKeyEntry } from "./parse-api-keys.js";
import { TenantSalts } from "./tenant-salts.js";

export const DEFAULT_TENANT = "default";

/** A tenant's own limits from its keys-file entry, over the router's --tenant-* flags (admission/tenant-gate.ts). */
export interface TenantLimitOverrides {
  /** Requests per second; 0: none. */
  requestsPerS?: number;
  requestsBurst?: number;
  /** Prompt + max_tokens tokens per second; 0: none. */
  tokensPerS?: number;
  tokensBurst?: number;
  /** Requests in flight at once on one router. */
  maxInFlight?: number;
}

export interface Tenant {
  id: string;
  /** Mixed into the first block hash of every prompt of this tenant. */
  cacheSalt: string;
  /** Its keys-file limits; absent: the router's. */
  limits?: TenantLimitOverrides;
}

export class ApiKeys {
  private entries: readonly ApiKeyEntry[];

  constructor(
    entries: readonly ApiKeyEntry[],
    private readonly salts: TenantSalts = TenantSalts.random(),
  ) {
    this.entries = entries;
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** Keys held now. */
  get size(): number {
    return this.entries.length;
  }

  /** Swaps the whole table at once (a reload); the salts stay. */
  replace(entries: readonly ApiKeyEntry[]): void {
    this.entries = entries;
  }

  /** The tenant for an `authorization` header value (or a bare key); throws AuthenticationError. */
  authenticate(authorization: string | undefined): Tenant {
    const entries = this.entries;
    if (entries.length === 0) return { id: DEFAULT_TENANT, cacheSalt: "" };
    if (authorization === undefined || authorization === "") throw new AuthenticationError("missing API key: send 'authorization: Bearer <key>'");
    const digest = apiKeyDigest(authorization.replace(/^Bearer\s+/i, ""));
    let match: ApiKeyEntry | undefined;
    for (const entry of entries) {
      if (timingSafeEqual(entry.digest, digest)) match = entry;
    }
    if (match === undefined) throw new AuthenticationError("unknown API key");
    return { id: match.tenant, cacheSalt: this.salts.saltFor(match.tenant), ...(match.limits === undefined ? {} : { limits: match.limits }) };
  }

  static parse(text: string, source: string, salts?: TenantSalts): ApiKeys {
    return new ApiKeys(parseApiKeys(text, source), salts);
  }

  /** The entries of the file, else of the inline text (SIGMASERVE_ROUTER_API_KEYS). */
  static async readEntries(options: { file?: string; inline?: string }): Promise<ApiKeyEntry[]> {
    if (options.file !== undefined) return parseApiKeys(await readFile(options.file, "utf8"), options.file);
    return parseApiKeys(options.inline ?? "", "SIGMASERVE_ROUTER_API_KEYS");
  }

  static async load(options: { file?: string; inline?: string }, salts?: TenantSalts): Promise<ApiKeys> {
    return new ApiKeys(await ApiKeys.readEntries(options), salts);
  }
}
