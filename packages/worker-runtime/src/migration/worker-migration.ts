/**
 * A worker's two migration roles in one place: the source (offers, leases,
 * ExportKv for standing offers) and the target (answers offers, pulls,
 * imports). startWorker builds one per worker; joinBus serves its control
 * verbs (migrate.offer, migrate.done) on the bus.
 */
import type { CoordBus } from "@sigmaserve/coord";
import type { KvCacheManager } from "@sigmaserve/kvcache";
import type { Logger } from "pino";
import { MigrationLeases } from "./migration-leases.js";
import { MigrationSource } from "./migration-source.js";
import { MigrationTarget, type MigrationTargetDeps } from "./migration-target.js";

export interface WorkerMigrationDeps {
  workerId: string;
  epoch: bigint;
  grpcAddress: () => string;
  modelId: string;
  kvHash: { algorithm: string; seed: bigint; blockSizeTokens: number };
  kv: KvCacheManager;
  bus: CoordBus;
  leaseMs: number;
  isDraining: () => boolean;
  logger: Logger;
  maxMessageBytes?: number;
  onFrameReceived?: MigrationTargetDeps["onFrameReceived"];
}

export class WorkerMigration {
  readonly leases: MigrationLeases;
  readonly source: MigrationSource;
  readonly target: MigrationTarget;

  constructor(deps: WorkerMigrationDeps) {
    const logger = deps.logger.child({ component: "migration" });
    this.leases = new MigrationLeases({ leaseMs: deps.leaseMs });
    this.source = new MigrationSource({ ...deps, leases: this.leases, logger });
    this.target = new MigrationTarget({ ...deps, logger });
  }

  /** Ends every standing offer (their leases go) and waits for pulls under way. */
  async close(): Promise<void> {
    this.leases.close();
    await this.target.idle();
  }
}
