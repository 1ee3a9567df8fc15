/**
 * The obviously-correct model the index is checked against: per worker a Map
 * from "component/hash" to the one tier that half is on, folded from events
 * with the same meaning kvcache's own event tests use, and a brute-force
 * overlap that walks the request's hashes for every worker.
 */
import type { KvEvent, KvSnapshot } from "@sigmaserve/kvcache/events";
import type { KvComponent, KvIndexResidencyGroup, KvTier, WorkerOverlap } from "../kv-index-types.js";

export type Residency = Map<string, KvTier>;
type EventBody = KvEvent extends infer E ? (E extends KvEvent ? Omit<E, "seq"> : never) : never;

const key = (component: KvComponent, hash: bigint): string => `${component}/${hash}`;

/** stored sets the tier; removed deletes if on that tier; moved changes tier if on fromTier; cleared empties. */
export function applyEvent(residency: Residency, event: EventBody | KvEvent): void {
  switch (event.kind) {
    case "stored":
      for (const hash of event.blockHashes) residency.set(key(event.component, hash), event.tier);
      return;
    case "removed":
      for (const hash of event.blockHashes) if (residency.get(key(event.component, hash)) === event.tier) residency.delete(key(event.component, hash));
      return;
    case "moved":
      for (const hash of event.blockHashes) if (residency.get(key(event.component, hash)) === event.fromTier) residency.set(key(event.component, hash), event.toTier);
      return;
    case "cleared":
      residency.clear();
      return;
  }
}

export function foldEvents(bodies: readonly EventBody[]): Residency {
  const residency: Residency = new Map();
  for (const body of bodies) applyEvent(residency, body);
  return residency;
}

/** The snapshot groups of a residency, in the index's canonical order. */
export function groupsOf(residency: Residency): KvIndexResidencyGroup[] {
  const groups: KvIndexResidencyGroup[] = [];
  for (const component of ["k", "v"] as const) {
    for (const tier of ["device", "host"] as const) {
      const blockHashes = [...residency]
        .filter(([k, t]) => t === tier && k.startsWith(`${component}/`))
        .map(([k]) => BigInt(k.slice(2)))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (blockHashes.length > 0) groups.push({ component, tier, blockHashes });
    }
  }
  return groups;
}

export function snapshotOfResidency(workerId: string, epoch: bigint, asOfSeq: number, residency: Residency): KvSnapshot {
  return { workerId, epoch, asOfSeq, residency: groupsOf(residency) };
}

/** For every worker: leading blocks with K resident; device hit iff K and V on the device; K on the device with V on the host also counted apart. Workers with none left out. */
export function bruteOverlap(residencies: ReadonlyMap<string, Residency>, hashes: readonly bigint[]): Map<string, WorkerOverlap> {
  const result = new Map<string, WorkerOverlap>();
  for (const [workerId, residency] of residencies) {
    const overlap: WorkerOverlap = { matchedBlocks: 0, deviceBlocks: 0, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 };
    for (const hash of hashes) {
      const k = residency.get(key("k", hash));
      if (k === undefined) break;
      overlap.matchedBlocks++;
      const v = residency.get(key("v", hash));
      if (k === "device" && v === "device") overlap.deviceBlocks++;
      else overlap.hostBlocks++;
      if (k === "device" && v === "host") overlap.kDeviceVHostBlocks++;
    }
    if (overlap.matchedBlocks > 0) result.set(workerId, overlap);
  }
  return result;
}
