/**
 * Everything the router knows about tenants, built from its config: the API
 * keys (reloaded from the file on change and on demand), the secret cache
 * salts, and admission with each tenant's limits in front of the router's.
 *
 * The in-flight share (admission/tenant-gate.ts) applies by default only when
 * keys are on (a keys file, or keys in SIGMASERVE_ROUTER_API_KEYS): an open
 * router has one tenant, and capping it would only shrink the router. A keys
 * file that is empty at start still counts as "on": it may fill on reload.
 */
import type { CoordBus } from "@sigmaserve/coord";
import type { Logger } from "pino";
import { AdmissionController } from "../admission/admission-controller.js";
import { DEFAULT_TENANT_SHARE, defaultTenantShare, TenantGate } from "../admission/tenant-gate.js";
import type { RouterConfig } from "../config/router-config.js";
import type { TenantLimit } from "../errors.js";
import { ApiKeys } from "./api-keys.js";
import { ApiKeysReloader } from "./api-keys-reloader.js";
import { resolveTenantSalts } from "./tenant-salt-key.js";
import { TenantSalts } from "./tenant-salts.js";

export interface RouterTenancy {
  readonly apiKeys: ApiKeys;
  readonly admission: AdmissionController;
  readonly gate: TenantGate;
  /** Reads the keys file again (SIGHUP); false when it failed (the old keys stay) or there is no file. */
  reloadApiKeys(): Promise<boolean>;
  stop(): void;
}

type TenancyConfig = Pick<
  RouterConfig,
  | "apiKeysFile"
  | "apiKeys"
  | "maxInFlight"
  | "maxQueued"
  | "tenantMaxInFlight"
  | "tenantMaxQueued"
  | "tenantRequestsPerS"
  | "tenantRequestsBurst"
  | "tenantTokensPerS"
  | "tenantTokensBurst"
  | "tenantSaltKeyFile"
  | "tenantSaltKey"
>;

export async function startTenancy(config: TenancyConfig, bus: CoordBus | undefined, logger: Logger, onLimited: (tenant: string, limit: TenantLimit) => void): Promise<RouterTenancy> {
  const entries = await ApiKeys.readEntries({ ...(config.apiKeysFile === undefined ? {} : { file: config.apiKeysFile }), ...(config.apiKeys === undefined ? {} : { inline: config.apiKeys }) });
  const keyed = config.apiKeysFile !== undefined || entries.length > 0;
  // NOTE: an open router never uses a salt (its one tenant's is ""), so it asks the bus for no secret.
  const salts = keyed || config.tenantSaltKeyFile !== undefined || config.tenantSaltKey !== undefined
    ? (await resolveTenantSalts({ file: config.tenantSaltKeyFile, key: config.tenantSaltKey, bus, logger })).salts
    : TenantSalts.random();
  const apiKeys = new ApiKeys(entries, salts);
  const gate = new TenantGate({
    limits: {
      maxInFlight: config.tenantMaxInFlight ?? (keyed ? defaultTenantShare(config.maxInFlight) : config.maxInFlight),
      maxQueued: config.tenantMaxQueued ?? (keyed ? Math.floor(config.maxQueued * DEFAULT_TENANT_SHARE) : config.maxQueued),
      requestsPerS: config.tenantRequestsPerS,
      requestsBurst: config.tenantRequestsBurst,
      tokensPerS: config.tenantTokensPerS,
      tokensBurst: config.tenantTokensBurst,
    },
    onLimited,
  });
  const admission = new AdmissionController({ maxInFlight: config.maxInFlight, maxQueued: config.maxQueued, tenants: gate });
  const reloader = config.apiKeysFile === undefined ? undefined : new ApiKeysReloader(apiKeys, config.apiKeysFile, logger);
  reloader?.start();
  return {
    apiKeys,
    admission,
    gate,
    reloadApiKeys: async () => {
      if (reloader !== undefined) return reloader.reload();
      logger.info("no --api-keys-file to reload");
      return false;
    },
    stop: () => reloader?.stop(),
  };
}
