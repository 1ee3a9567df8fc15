/**
 * Paging a snapshot for NATS, whose messages stay well under 1 MiB: a page
 * holds at most `maxHashes` hashes (8 bytes each as fixed64), and every page
 * repeats the header (worker, epoch, asOfSeq) so pages of different snapshots
 * cannot be mixed unnoticed. A (component, tier) group may be split across
 * pages; merging joins it again. The first page always exists, so an empty
 * cache is one page with no groups.
 */
import type { BlockHash } from "../kv-types.js";
import { canonicalGroups, groupKey, type KvResidencyGroup } from "./build-snapshot.js";
import { KvSnapshotError } from "./errors.js";
import type { KvSnapshot } from "./kv-event.js";
import { assertSnapshotHeader, blockHashProblem, checkArgument, componentProblem, tierProblem } from "./validate.js";

/** Hashes per page when the requester names no limit: 32768 × 8 B = 256 KiB of hashes. */
export const DEFAULT_SNAPSHOT_PAGE_MAX_HASHES = 32_768;

/** Splits `snapshot` into pages of at most `maxHashes` hashes each, in order. */
export function pageSnapshot(snapshot: KvSnapshot, maxHashes: number = DEFAULT_SNAPSHOT_PAGE_MAX_HASHES): KvSnapshot[] {
  checkArgument("maxHashes", Number.isSafeInteger(maxHashes) && maxHashes > 0 ? null : `must be a positive integer, got ${String(maxHashes)}`);
  const header = { workerId: snapshot.workerId, epoch: snapshot.epoch, asOfSeq: snapshot.asOfSeq };
  const pages: KvSnapshot[] = [];
  let page: KvResidencyGroup[] = [];
  let room = maxHashes;
  for (const group of snapshot.residency) {
    for (let start = 0; start < group.blockHashes.length; ) {
      if (room === 0) {
        pages.push({ ...header, residency: page });
        page = [];
        room = maxHashes;
      }
      const take = Math.min(room, group.blockHashes.length - start);
      page.push({ component: group.component, tier: group.tier, blockHashes: group.blockHashes.slice(start, start + take) });
      start += take;
      room -= take;
    }
  }
  pages.push({ ...header, residency: page });
  return pages;
}

/**
 * Joins the pages of one snapshot (any order) back into one, in the canonical
 * form of `buildSnapshot`. Pages that disagree on worker, epoch or asOfSeq
 * come from different snapshots and are refused. A hash on two pages of the
 * same group is kept once: pages with the same header describe the same state.
 */
export function mergeSnapshotPages(pages: readonly KvSnapshot[]): KvSnapshot {
  const [first] = pages;
  if (first === undefined) throw new KvSnapshotError("no pages to merge");
  const sets = new Map<string, Set<BlockHash>>();
  pages.forEach((page, p) => {
    assertSnapshotHeader(page);
    if (page.workerId !== first.workerId || page.epoch !== first.epoch || page.asOfSeq !== first.asOfSeq) {
      throw new KvSnapshotError(
        `page ${p} is of ${page.workerId} epoch ${page.epoch} as of ${page.asOfSeq}, page 0 of ${first.workerId} epoch ${first.epoch} as of ${first.asOfSeq}`,
      );
    }
    for (const group of page.residency) {
      const problem = componentProblem(group.component) ?? tierProblem(group.tier) ?? group.blockHashes.map(blockHashProblem).find((x) => x !== null) ?? null;
      if (problem !== null) throw new KvSnapshotError(`page ${p} has a bad group: ${problem}`);
      const key = groupKey(group.component, group.tier);
      const set = sets.get(key) ?? new Set<BlockHash>();
      for (const hash of group.blockHashes) set.add(hash);
      sets.set(key, set);
    }
  });
  return { workerId: first.workerId, epoch: first.epoch, asOfSeq: first.asOfSeq, residency: canonicalGroups(sets) };
}
