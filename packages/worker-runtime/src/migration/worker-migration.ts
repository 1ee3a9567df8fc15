/**
 * A worker's two migration roles in one place: the source (offers, leases,
 * ExportKv for standing offers) and the target (answers offers, pulls,
 * imports). startWorker builds one per worker; joinBus serves its control
 * verbs (migrate.offer, migrate.done) on the bus.
 */
import type { CoordBus } from "@sigmaserve/coord";
import type { KvCacheManager } from "@sigmaserve/kvcache";
import type { Logger } from "pino";
import type { HandoverBoard } from "./handover-board.js";
import { migrateAway, type MigrateAwayDeps, type MigrateAwayReport } from "./migrate-away.js";
import { MigrationLeases } from "./migration-leases.js";
import { MigrationSource, type MigrationSourceDeps } from "./migration-source.js";
import { MigrationTarget, type MigrationTargetDeps } from "./migration-target.js";
import { PeerDirectory } from "./peer-directory.js";

/** What the source and the target need, with the whole cache manager and bus they each see part of. */
export type WorkerMigrationDeps = Omit<MigrationSourceDeps, "leases" | "kv" | "bus"> & Omit<MigrationTargetDeps, "kv" | "bus"> & { kv: KvCacheManager; bus: CoordBus };

export class WorkerMigration {
  readonly leases: MigrationLeases;
  readonly source: MigrationSource;
  readonly target: MigrationTarget;
  readonly peers: PeerDirectory;
  private readonly logger: Logger;

  constructor(private readonly deps: WorkerMigrationDeps) {
    this.logger = deps.logger.child({ component: "migration" });
    this.leases = new MigrationLeases({ leaseMs: deps.leaseMs });
    this.source = new MigrationSource({ ...deps, leases: this.leases, logger: this.logger });
    this.target = new MigrationTarget({ ...deps, logger: this.logger });
    this.peers = new PeerDirectory(deps.bus, { workerId: deps.workerId, modelId: deps.modelId, blockSizeTokens: deps.kvHash.blockSizeTokens });
  }

  /** Starts following the peers (registry and loads), so a drain knows where to go at once. */
  async start(): Promise<void> {
    await this.peers.start();
  }

  /** Hands every request over and offers the hot chains to peers (see migrate-away.ts). */
  async migrateAway(scheduler: MigrateAwayDeps["scheduler"], handovers: HandoverBoard): Promise<MigrateAwayReport> {
    const report = await migrateAway({ scheduler, kv: this.deps.kv, source: this.source, peers: this.peers, handovers, logger: this.logger });
    this.logger.info(report, report.hadPeers ? "drain migrated this worker's requests and hot prefixes" : "drain found no peer to migrate to; requests finish here");
    return report;
  }

  /** Ends every standing offer (their leases go), waits for pulls under way, and stops following peers. */
  async close(): Promise<void> {
    this.leases.close();
    await this.target.idle();
    await this.peers.close();
  }
}
