/**
 * Prefix overlap. A block hash already encodes its whole prefix (it chains
 * the parent's hash), so walking the request's hashes in chain order against
 * a flat hash → workers map is exact: no radix tree is needed. Workers that
 * hold block 0 start the walk; each step keeps only the workers that also
 * hold the next block; the walk ends when none is left. Cost: one map lookup
 * per block plus one per (matched worker, block), i.e. O(matched).
 *
 * The rule, per worker and per leading block, in order:
 * - K resident on any tier → matched. It is a device hit when K and V are both
 *   on the device, otherwise a host hit (V on the host, K on the host, or V not
 *   reported yet: the pool keeps both halves of a live block, so a lone K is a
 *   batch boundary that fell between the two `stored` events). A host hit with
 *   K on the device and V on the host is also counted in kDeviceVHostBlocks:
 *   the index does not know which workers run selective V, the selector does.
 * - else an unexpired speculative claim (`nowMs` given and < expiry) → matched
 *   as a device hit, also counted in speculativeBlocks: the routed request
 *   will prefill the block on the device.
 * - else the walk stops for that worker (prefix semantics: a later block it
 *   holds is useless without this one).
 */
import type { KvIndexOverlapOptions, WorkerOverlap } from "./kv-index-types.js";
import type { ResidencyTable, Slot } from "./residency-table.js";

type Hit = "device" | "host" | "v-host" | "speculative";

function classify(slot: Slot | undefined, nowMs: number | undefined): Hit | null {
  if (slot === undefined) return null;
  if (slot.k === "device") return slot.v === "device" ? "device" : slot.v === "host" ? "v-host" : "host";
  if (slot.k !== null) return "host";
  if (nowMs !== undefined && slot.specExpiresAtMs !== null && nowMs < slot.specExpiresAtMs) return "speculative";
  return null;
}

function count(overlap: WorkerOverlap, hit: Hit): void {
  overlap.matchedBlocks++;
  if (hit === "host" || hit === "v-host") overlap.hostBlocks++;
  else overlap.deviceBlocks++;
  if (hit === "v-host") overlap.kDeviceVHostBlocks++;
  if (hit === "speculative") overlap.speculativeBlocks++;
}

/** Workers holding at least the first block, with how many leading blocks each holds; a worker holding none is absent. */
export function prefixOverlap(
  table: ResidencyTable,
  blockHashes: readonly bigint[],
  options: KvIndexOverlapOptions = {},
): Map<string, WorkerOverlap> {
  const { nowMs } = options;
  const result = new Map<string, WorkerOverlap>();
  const first = blockHashes[0];
  const firstHolders = first === undefined ? undefined : table.holders(first);
  if (firstHolders === undefined) return result;
  let alive: [string, WorkerOverlap][] = [];
  for (const [workerId, slot] of firstHolders) {
    const hit = classify(slot, nowMs);
    if (hit === null) continue;
    const overlap: WorkerOverlap = { matchedBlocks: 0, deviceBlocks: 0, hostBlocks: 0, kDeviceVHostBlocks: 0, speculativeBlocks: 0 };
    count(overlap, hit);
    result.set(workerId, overlap);
    alive.push([workerId, overlap]);
  }
  for (let i = 1; i < blockHashes.length && alive.length > 0; i++) {
    const holders = table.holders(blockHashes[i]!);
    if (holders === undefined) break;
    const next: [string, WorkerOverlap][] = [];
    for (const entry of alive) {
      const hit = classify(holders.get(entry[0]), nowMs);
      if (hit === null) continue;
      count(entry[1], hit);
      next.push(entry);
    }
    alive = next;
  }
  return result;
}
