/**
 * Where the tenant salt key (tenant-salts.ts) comes from, first match wins:
 *
 * 1. --tenant-salt-key-file FILE: the file's bytes, as they are (a trailing
 *    newline included), at least TENANT_SALT_KEY_MIN_BYTES;
 * 2. SIGMASERVE_ROUTER_TENANT_SALT_KEY: the variable's UTF-8 bytes, as many;
 * 3. the bus: the cluster secret TENANT_SALT_SECRET (CoordBus.clusterSecret),
 *    made by the first router that asks, so every router on one NATS derives
 *    the same salts with nothing to configure;
 * 4. none of these: a random key of this process. Salts then change at every
 *    restart, so keyed tenants' prefix caches start cold after one.
 *
 * A key that is given and unusable (unreadable, too short) stops the router
 * with a RouterConfigError: it fails closed rather than fall back to a key
 * the operator did not choose. A key given by file or variable must be the
 * same on every router of the cluster.
 */
import type { CoordBus } from "@sigmaserve/coord";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { RouterConfigError } from "../errors.js";
import { TENANT_SALT_KEY_MIN_BYTES, TenantSalts } from "./tenant-salts.js";

/** The name of the salt key among the cluster secrets on the bus. */
export const TENANT_SALT_SECRET = "tenant-salt-key";

export type TenantSaltKeySource = "file" | "env" | "bus" | "process";

export async function resolveTenantSalts(options: { file?: string | undefined; key?: string | undefined; bus?: CoordBus | undefined; logger: Logger }): Promise<{ salts: TenantSalts; source: TenantSaltKeySource }> {
  if (options.file !== undefined) {
    let bytes: Buffer;
    try {
      bytes = await readFile(options.file);
    } catch (err) {
      throw new RouterConfigError(`--tenant-salt-key-file: cannot read ${options.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (bytes.length < TENANT_SALT_KEY_MIN_BYTES) {
      throw new RouterConfigError(`--tenant-salt-key-file: ${options.file} holds ${bytes.length} bytes; a salt key needs at least ${TENANT_SALT_KEY_MIN_BYTES} (e.g. head -c 32 /dev/urandom > ${options.file})`);
    }
    return { salts: new TenantSalts(bytes), source: "file" };
  }
  if (options.key !== undefined) {
    const bytes = Buffer.from(options.key, "utf8");
    // Never echo the value: it is the secret.
    if (bytes.length < TENANT_SALT_KEY_MIN_BYTES) throw new RouterConfigError(`SIGMASERVE_ROUTER_TENANT_SALT_KEY: holds ${bytes.length} bytes; a salt key needs at least ${TENANT_SALT_KEY_MIN_BYTES} (e.g. openssl rand -hex 32)`);
    return { salts: new TenantSalts(bytes), source: "env" };
  }
  if (options.bus !== undefined) {
    try {
      return { salts: new TenantSalts(await options.bus.clusterSecret(TENANT_SALT_SECRET)), source: "bus" };
    } catch (err) {
      throw new Error(`cannot get the tenant salt key from the bus: ${(err as Error).message}`, { cause: err });
    }
  }
  options.logger.info("tenant cache salts use a key of this process (no --tenant-salt-key-file, SIGMASERVE_ROUTER_TENANT_SALT_KEY or bus): they change at restart, so keyed tenants' prefix caches start cold after one");
  return { salts: TenantSalts.random(), source: "process" };
}
