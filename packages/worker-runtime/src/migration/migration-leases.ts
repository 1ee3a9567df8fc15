/**
 * The source side's table of standing offers: each holds a KV lease (its
 * blocks pinned) until the target reports done, the offer is withdrawn, or
 * the lease runs out (`leaseMs`, the --migration-lease-ms flag). An export for
 * a migration is served only while its lease stands and only for blocks the
 * offer named. A restarted worker has a new epoch and an empty table, so every
 * offer it made before is void; the target learns it from expected_epoch.
 */
import { formatBlockHash, type BlockHash, type KvBlockLease } from "@sigmaserve/kvcache";
import { MigrationLeaseError } from "../errors.js";

export interface StandingOffer {
  readonly migrationId: string;
  readonly targetWorkerId: string;
  readonly lease: KvBlockLease;
  /** Date.now() at which the lease ends, ms. */
  readonly expiresAtMs: number;
}

/** How a standing offer ended. */
export type OfferEnd = { kind: "done" } | { kind: "expired" } | { kind: "withdrawn"; reason: string };

export class MigrationLeases {
  private readonly offers = new Map<string, { offer: StandingOffer; timer: NodeJS.Timeout; onEnd: (end: OfferEnd) => void }>();
  /** Recently ended ids, so a late export says "expired" rather than "unknown" (bounded). */
  private readonly ended = new Set<string>();

  constructor(private readonly options: { leaseMs: number; nowMs?: () => number; maxRemembered?: number }) {}

  /** Starts a lease for an offer; `onEnd` runs once, when it ends for any reason. */
  open(migrationId: string, targetWorkerId: string, lease: KvBlockLease, onEnd: (end: OfferEnd) => void): StandingOffer {
    if (this.offers.has(migrationId)) throw new Error(`migration ${migrationId} already has a standing offer`);
    const offer: StandingOffer = { migrationId, targetWorkerId, lease, expiresAtMs: this.now() + this.options.leaseMs };
    const timer = setTimeout(() => this.end(migrationId, { kind: "expired" }), this.options.leaseMs);
    timer.unref();
    this.offers.set(migrationId, { offer, timer, onEnd });
    return offer;
  }

  /** The standing offer, or MigrationLeaseError (unknown / expired / a hash it does not cover). */
  check(migrationId: string, hashes: readonly BlockHash[]): StandingOffer {
    const entry = this.offers.get(migrationId);
    if (entry === undefined) {
      if (this.ended.has(migrationId)) throw new MigrationLeaseError(migrationId, "expired", "has no standing offer any more: its lease ended (done, withdrawn or timed out)");
      throw new MigrationLeaseError(migrationId, "unknown", "names no offer of this worker (it may have restarted since: its offers died with it)");
    }
    if (entry.offer.expiresAtMs <= this.now()) {
      this.end(migrationId, { kind: "expired" });
      throw new MigrationLeaseError(migrationId, "expired", "has no standing offer any more: its lease ended (done, withdrawn or timed out)");
    }
    const held = new Set(entry.offer.lease.held);
    const outside = hashes.filter((hash) => !held.has(hash));
    if (outside.length > 0) {
      throw new MigrationLeaseError(migrationId, "not-offered", `did not offer block ${outside.slice(0, 4).map(formatBlockHash).join(", ")}${outside.length > 4 ? ` and ${outside.length - 4} more` : ""}`);
    }
    return entry.offer;
  }

  /** Ends a standing offer (idempotent): releases its lease and reports how it ended. */
  end(migrationId: string, end: OfferEnd): void {
    const entry = this.offers.get(migrationId);
    if (entry === undefined) return;
    this.offers.delete(migrationId);
    clearTimeout(entry.timer);
    entry.offer.lease.release();
    this.remember(migrationId);
    entry.onEnd(end);
  }

  /** Offers standing now. */
  get size(): number {
    return this.offers.size;
  }

  /** Ends every offer (the worker stops). */
  close(): void {
    for (const id of [...this.offers.keys()]) this.end(id, { kind: "withdrawn", reason: "the source worker stopped" });
  }

  private remember(migrationId: string): void {
    this.ended.add(migrationId);
    const max = this.options.maxRemembered ?? 1_024;
    if (this.ended.size > max) this.ended.delete(this.ended.values().next().value!);
  }

  private now(): number {
    return (this.options.nowMs ?? Date.now)();
  }
}
