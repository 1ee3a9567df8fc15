/**
 * Test helpers: batches and snapshots written as literals, and a seeded
 * random source (mulberry32) so sampling tests assert exact picks.
 */
import type { KvEvent, KvEventBatch, KvSnapshot } from "@sigmaserve/kvcache/events";

/** Distributes seq firstSeq, firstSeq+1, … over event bodies. */
export function batchOf(workerId: string, epoch: bigint, firstSeq: number, bodies: readonly DistributiveOmit<KvEvent, "seq">[]): KvEventBatch {
  return { workerId, epoch, firstSeq, events: bodies.map((body, i) => ({ ...body, seq: firstSeq + i }) as KvEvent) };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Stored K and V of the hashes on one tier each. */
export function storedKv(hashes: bigint[], kTier: "device" | "host" = "device", vTier: "device" | "host" = kTier): DistributiveOmit<KvEvent, "seq">[] {
  return [
    { kind: "stored", component: "k", tier: kTier, blockHashes: hashes },
    { kind: "stored", component: "v", tier: vTier, blockHashes: hashes },
  ];
}

export function snapshotOf(workerId: string, epoch: bigint, asOfSeq: number, residency: KvSnapshot["residency"]): KvSnapshot {
  return { workerId, epoch, asOfSeq, residency };
}

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pool usage ratios for a WorkerLoad: K and V on the device, V on the host (K on the host rarely matters: default 0). */
export function usageOf(kDevice: number, vDevice: number, vHost = 0, kHost = 0): { k: { device: number; host: number }; v: { device: number; host: number } } {
  return { k: { device: kDevice, host: kHost }, v: { device: vDevice, host: vHost } };
}

/** A candidate with no usage and no cache mode, for tests where neither matters. */
export const IDLE_POOLS = { kvUsage: usageOf(0, 0), selectiveV: false } as const;
