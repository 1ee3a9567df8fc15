/**
 * KV-cache events, as the pool emits them and the router's index consumes
 * them. They mirror sigmaserve.coord.v1.KvEvent (@sigmaserve/coord encodes and decodes them);
 * this package imports no proto.
 *
 * Every event has a seq: seqs start at 1 in each epoch and rise by one per
 * event with no holes, so a consumer that sees a hole knows it missed
 * something and asks for a snapshot. A new epoch (drawn at every start)
 * means everything known about that worker is void.
 */
import type { BlockHash, KvComponent, KvTier } from "../kv-types.js";

export type KvEvent =
  /** Blocks of a component became resident on a tier, in chain order. */
  | { kind: "stored"; seq: number; component: KvComponent; tier: KvTier; blockHashes: BlockHash[]; parentBlockHash?: BlockHash }
  /** Blocks of a component stopped being resident on a tier. */
  | { kind: "removed"; seq: number; component: KvComponent; tier: KvTier; blockHashes: BlockHash[] }
  /** Blocks of a component moved between tiers (V is demoted before K). */
  | { kind: "moved"; seq: number; component: KvComponent; fromTier: KvTier; toTier: KvTier; blockHashes: BlockHash[] }
  /** Everything was dropped: forget all of this worker's blocks. */
  | { kind: "cleared"; seq: number };

/** An event before the log gives it a seq. */
export type KvEventBody = KvEvent extends infer E ? (E extends KvEvent ? Omit<E, "seq"> : never) : never;

/** A run of consecutive events from one worker; events[i].seq = firstSeq + i. */
export interface KvEventBatch {
  workerId: string;
  epoch: bigint;
  firstSeq: number;
  events: KvEvent[];
}

/** The complete state as of a seq: apply later events on top. */
export interface KvSnapshot {
  workerId: string;
  epoch: bigint;
  asOfSeq: number;
  residency: { component: KvComponent; tier: KvTier; blockHashes: BlockHash[] }[];
}
