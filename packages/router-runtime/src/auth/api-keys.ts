/**
 * API keys → tenants. Keys come from a JSON file ({"<key>": "<tenant>"}) or
 * an environment variable ("key1=tenantA,key2=tenantB"). With no keys
 * configured the router is open and every request is the "default" tenant.
 * A tenant's cache salt isolates its prefix cache: two tenants never share a
 * block, so one cannot probe another's prompts through cache timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AuthenticationError, RouterConfigError } from "../errors.js";

export const DEFAULT_TENANT = "default";

export interface Tenant {
  id: string;
  /** Mixed into the first block hash of every prompt of this tenant. */
  cacheSalt: string;
}

function saltFor(tenant: string): string {
  // NOTE: a digest rather than the name: the salt travels to workers and into hashes, the name need not.
  return createHash("sha256").update(`sigmaserve-tenant:${tenant}`).digest("hex").slice(0, 32);
}

export class ApiKeys {
  private readonly byDigest: Map<string, string>;

  constructor(keys: ReadonlyMap<string, string>) {
    this.byDigest = new Map([...keys].map(([key, tenant]) => [createHash("sha256").update(key).digest("hex"), tenant]));
  }

  get enabled(): boolean {
    return this.byDigest.size > 0;
  }

  /** The tenant for an `authorization` header value (or a bare key); throws AuthenticationError. */
  authenticate(authorization: string | undefined): Tenant {
    if (!this.enabled) return { id: DEFAULT_TENANT, cacheSalt: "" };
    if (authorization === undefined || authorization === "") throw new AuthenticationError("missing API key: send 'authorization: Bearer <key>'");
    const key = authorization.replace(/^Bearer\s+/i, "");
    const digest = createHash("sha256").update(key).digest("hex");
    // Compare digests in constant time, so a key cannot be guessed byte by byte.
    for (const [known, tenant] of this.byDigest) {
      if (timingSafeEqual(Buffer.from(known), Buffer.from(digest))) return { id: tenant, cacheSalt: saltFor(tenant) };
    }
    throw new AuthenticationError("unknown API key");
  }

  static parse(text: string, source: string): ApiKeys {
    const keys = new Map<string, string>();
    const trimmed = text.trim();
    if (trimmed === "") return new ApiKeys(keys);
    if (trimmed.startsWith("{")) {
      let json: unknown;
      try {
        json = JSON.parse(trimmed);
      } catch (err) {
        throw new RouterConfigError(`${source}: not valid JSON (${(err as Error).message})`);
      }
      for (const [key, tenant] of Object.entries(json as Record<string, unknown>)) {
        if (typeof tenant !== "string" || tenant === "" || key === "") throw new RouterConfigError(`${source}: each entry must map a non-empty key to a tenant name`);
        keys.set(key, tenant);
      }
    } else {
      for (const pair of trimmed.split(",")) {
        const [key, tenant] = pair.split("=");
        if (key === undefined || tenant === undefined || key.trim() === "" || tenant.trim() === "") throw new RouterConfigError(`${source}: expected "key=tenant" pairs separated by commas`);
        keys.set(key.trim(), tenant.trim());
      }
    }
    return new ApiKeys(keys);
  }

  static async load(options: { file?: string; inline?: string }): Promise<ApiKeys> {
    if (options.file !== undefined) return ApiKeys.parse(await readFile(options.file, "utf8"), options.file);
    return ApiKeys.parse(options.inline ?? "", "SIGMASERVE_ROUTER_API_KEYS");
  }
}
