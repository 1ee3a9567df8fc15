/**
 * What a worker does with its cache when it drains with migration: every
 * request it is running is handed over (taken off the scheduler at a step
 * boundary, its full blocks offered to the least loaded peer, and its stream
 * ended with that peer's id once the blocks have landed, so the router
 * replays the tokens sent so far there and the prompt is a cache hit), then
 * its hottest cached prefix chains are offered to the peers as well. A
 * request whose migration fails is still handed over, without a target: the
 * router replays it anywhere, as failover does. With no peer to go to,
 * nothing moves and the requests finish here.
 */
import type { BlockHash } from "@sigmaserve/kvcache";
import type { Logger } from "pino";
import type { HandoverBoard } from "./handover-board.js";
import type { MigrationOutcome, MigrationSource } from "./migration-source.js";
import type { PeerDirectory } from "./peer-directory.js";

/** Most distinct cached blocks offered as hot chains by one drain. */
export const DEFAULT_DRAIN_HOT_BLOCKS = 4_096;

export interface MigrateAwayDeps {
  scheduler: {
    activeIds(): string[];
    handover(requestId: string): Promise<{ tokens: number[]; cacheSalt: string } | undefined>;
  };
  kv: { promptBlockHashes(tokens: ArrayLike<number>, cacheSalt?: string): BlockHash[]; hotChains(maxBlocks: number): BlockHash[][] };
  source: Pick<MigrationSource, "offer">;
  peers: Pick<PeerDirectory, "pick">;
  handovers: HandoverBoard;
  logger: Logger;
  maxHotBlocks?: number;
}

export interface MigrateAwayReport {
  /** Requests handed over, and how many of them with their KV moved. */
  requestsHandedOver: number;
  requestsMigrated: number;
  /** Hot chains offered, and blocks the peers imported from them. */
  chainsOffered: number;
  chainBlocksImported: number;
  /** Migrations that failed or were refused (each logged with its reason). */
  failures: number;
  /** False when there was no peer: nothing moved. */
  hadPeers: boolean;
}

export async function migrateAway(deps: MigrateAwayDeps): Promise<MigrateAwayReport> {
  const report: MigrateAwayReport = { requestsHandedOver: 0, requestsMigrated: 0, chainsOffered: 0, chainBlocksImported: 0, failures: 0, hadPeers: false };
  const note = (outcome: MigrationOutcome, what: Record<string, unknown>): boolean => {
    if (outcome.kind === "done" && outcome.done.error === "") return true;
    if (outcome.kind === "nothing-to-offer") return false;
    report.failures++;
    deps.logger.warn({ ...what, migrationId: outcome.migrationId, outcome: outcome.kind, reason: "reason" in outcome ? outcome.reason : outcome.done.error }, "migration during drain did not complete");
    return false;
  };

  const handovers = deps.scheduler.activeIds().map(async (requestId) => {
    const target = deps.peers.pick();
    if (target === null) return;
    report.hadPeers = true;
    deps.handovers.expect(requestId);
    const known = await deps.scheduler.handover(requestId);
    if (known === undefined) {
      deps.handovers.settle(requestId, null); // it finished on its own meanwhile
      return;
    }
    report.requestsHandedOver++;
    let moved = false;
    try {
      const outcome = await deps.source.offer(target, deps.kv.promptBlockHashes(known.tokens, known.cacheSalt), { requestId });
      moved = note(outcome, { requestId, target });
    } finally {
      if (moved) report.requestsMigrated++;
      deps.handovers.settle(requestId, moved ? target : null);
    }
  });
  await Promise.all(handovers);

  const chains = deps.kv.hotChains(deps.maxHotBlocks ?? DEFAULT_DRAIN_HOT_BLOCKS);
  await Promise.all(
    chains.map(async (chain) => {
      const target = deps.peers.pick(chain.length);
      if (target === null) return;
      report.hadPeers = true;
      report.chainsOffered++;
      const outcome = await deps.source.offer(target, chain);
      if (note(outcome, { target, blocks: chain.length }) && outcome.kind === "done") report.chainBlocksImported += outcome.done.blocksImported;
    }),
  );
  return report;
}
