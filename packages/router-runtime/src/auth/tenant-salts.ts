/**
 * Tenant cache salts: HMAC-SHA256(server key, tenant id), the first 128 bits
 * in hex. The salt is mixed into the first block hash of every prompt of the
 * tenant and travels to the workers, so two tenants never share a cached
 * block. It must not be computable from the tenant's name (a plain digest of
 * the name was): whoever could compute another tenant's salt and reach a
 * worker could send that salt with a guessed prompt and learn from cache
 * timing or cached-token counts whether the tenant sent it. With a secret key
 * only the routers can make a salt.
 *
 * Every router of a cluster must hold the same key (tenant-salt-key.ts), or a
 * tenant's prompts get a different salt on each router and its prefix cache
 * splits in as many parts.
 */
import { createHmac, randomBytes } from "node:crypto";

/** Fewest bytes of a salt key: 256 bits, HMAC-SHA256's block of security. */
export const TENANT_SALT_KEY_MIN_BYTES = 32;

/** Hex digits of a salt (128 bits: collisions between tenants are out of reach). */
const SALT_HEX_DIGITS = 32;

export class TenantSalts {
  private readonly key: Buffer;
  /** Salts by tenant id: tenants come from the keys file, so this stays as small as the file. */
  private readonly cache = new Map<string, string>();

  constructor(key: Uint8Array) {
    if (key.length < TENANT_SALT_KEY_MIN_BYTES) throw new RangeError(`a tenant salt key needs at least ${TENANT_SALT_KEY_MIN_BYTES} bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  /** A key of this process only (no bus, no key given): salts change when it restarts. */
  static random(): TenantSalts {
    return new TenantSalts(randomBytes(TENANT_SALT_KEY_MIN_BYTES));
  }

  saltFor(tenant: string): string {
    let salt = this.cache.get(tenant);
    if (salt === undefined) this.cache.set(tenant, (salt = createHmac("sha256", this.key).update(tenant, "utf8").digest("hex").slice(0, SALT_HEX_DIGITS)));
    return salt;
  }
}
