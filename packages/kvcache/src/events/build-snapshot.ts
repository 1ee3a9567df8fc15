/**
 * Snapshots: a worker's complete residency as of a seq, which a consumer
 * takes in place of everything it knew and then applies later events on top.
 * The log does not know residency; the pool lists it and this helper gives the
 * list one canonical form, so equal states give equal snapshots: groups in
 * (component, tier) order k/device, k/host, v/device, v/host, empty groups
 * left out, hashes ascending and each listed once.
 */
import { type BlockHash, KV_COMPONENTS, KV_TIERS, type KvComponent, type KvTier } from "../kv-types.js";
import type { KvSnapshot } from "./kv-event.js";
import { blockHashProblem, checkArgument, componentProblem, epochProblem, seqProblem, tierProblem, workerIdProblem } from "./validate.js";

/** One block of one component resident on one tier, as the pool lists it. */
export interface KvResidencyEntry {
  component: KvComponent;
  tier: KvTier;
  blockHash: BlockHash;
}

/** One (component, tier) group of a snapshot. */
export type KvResidencyGroup = KvSnapshot["residency"][number];

/**
 * The snapshot of `workerId` in `epoch` as of `asOfSeq` (the log's `lastSeq`
 * when the pool listed `residency`). `residency` may come in any order and may
 * repeat an entry.
 */
export function buildSnapshot(
  workerId: string,
  epoch: bigint,
  asOfSeq: number,
  residency: Iterable<KvResidencyEntry>,
): KvSnapshot {
  checkArgument("workerId", workerIdProblem(workerId));
  checkArgument("epoch", epochProblem(epoch));
  checkArgument("asOfSeq", seqProblem(asOfSeq));
  const sets = new Map<string, Set<BlockHash>>();
  let index = 0;
  for (const entry of residency) {
    checkArgument(`residency[${index}].component`, componentProblem(entry.component));
    checkArgument(`residency[${index}].tier`, tierProblem(entry.tier));
    checkArgument(`residency[${index}].blockHash`, blockHashProblem(entry.blockHash));
    const key = groupKey(entry.component, entry.tier);
    const set = sets.get(key) ?? new Set<BlockHash>();
    set.add(entry.blockHash);
    sets.set(key, set);
    index++;
  }
  return { workerId, epoch, asOfSeq, residency: canonicalGroups(sets) };
}

/** Groups in canonical order from (component/tier → hashes); shared with the page merger. */
export function canonicalGroups(sets: ReadonlyMap<string, ReadonlySet<BlockHash>>): KvResidencyGroup[] {
  const groups: KvResidencyGroup[] = [];
  for (const component of KV_COMPONENTS) {
    for (const tier of KV_TIERS) {
      const set = sets.get(groupKey(component, tier));
      if (set === undefined || set.size === 0) continue;
      groups.push({ component, tier, blockHashes: [...set].sort(compareHashes) });
    }
  }
  return groups;
}

export function groupKey(component: KvComponent, tier: KvTier): string {
  return `${component}/${tier}`;
}

function compareHashes(a: BlockHash, b: BlockHash): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
