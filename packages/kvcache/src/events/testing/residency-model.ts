/**
 * The meaning of KV events for tests: residency as a map from
 * "component/hash" to the tier that block-component is on. Both the producer's
 * truth and the consumer's reconstruction fold events with `applyEvent`, so a
 * property test compares what the protocol delivered, not two readings of it.
 */
import type { KvComponent, KvTier } from "../../kv-types.js";
import type { KvResidencyEntry } from "../build-snapshot.js";
import type { KvEvent, KvEventBody, KvSnapshot } from "../kv-event.js";

export type Residency = Map<string, KvTier>;

function key(component: KvComponent, hash: bigint): string {
  return `${component}/${hash}`;
}

/** stored sets the tier; removed deletes if on that tier; moved changes tier if on fromTier; cleared empties. */
export function applyEvent(residency: Residency, event: KvEvent | KvEventBody): void {
  switch (event.kind) {
    case "stored":
      for (const hash of event.blockHashes) residency.set(key(event.component, hash), event.tier);
      return;
    case "removed":
      for (const hash of event.blockHashes) {
        if (residency.get(key(event.component, hash)) === event.tier) residency.delete(key(event.component, hash));
      }
      return;
    case "moved":
      for (const hash of event.blockHashes) {
        if (residency.get(key(event.component, hash)) === event.fromTier) residency.set(key(event.component, hash), event.toTier);
      }
      return;
    case "cleared":
      residency.clear();
      return;
  }
}

export function residencyEntries(residency: Residency): KvResidencyEntry[] {
  return [...residency].map(([k, tier]) => {
    const [component, hash] = k.split("/") as [KvComponent, string];
    return { component, tier, blockHash: BigInt(hash) };
  });
}

export function residencyOfSnapshot(snapshot: KvSnapshot): Residency {
  const residency: Residency = new Map();
  for (const group of snapshot.residency) {
    for (const hash of group.blockHashes) residency.set(key(group.component, hash), group.tier);
  }
  return residency;
}

/** A comparable, order-free form of a residency map. */
export function sortedResidency(residency: Residency): [string, KvTier][] {
  return [...residency].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
