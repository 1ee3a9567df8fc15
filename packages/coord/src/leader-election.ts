/**
 * Leader election over the bus: contenders for one named lease (e.g. the
 * routers' "autoscaler"), at most one of which holds it at a time.
 *
 * The lease is an entry in a KV store (the JetStream KV bucket LEASES_BUCKET
 * on NATS, the hub in memory) holding a LeaderLease: holder, expiry, term.
 * Every change is a compare-and-set on the entry's revision, so of two
 * contenders that read the same expired lease only one can take it. The
 * holder renews every ttl/3; a contender retries when the current lease
 * expires (not before), so a holder that dies is replaced within one TTL of
 * its last renewal, and one that closes hands over at once (it deletes the
 * entry). A holder that cannot renew (the bus is down, or someone else
 * took the lease) stops being leader the moment its own lease would have
 * expired by its clock, or at once on a lost compare-and-set: `isLeader()`
 * turns false before anyone else can win. Expiry is wall-clock time, so the
 * contenders' clocks must agree to well within the TTL (NTP does).
 */

export interface LeaderElectionOptions {
  /** The lease's name: letters, digits, `_` and `-` (a KV key). */
  name: string;
  /** This contender's id, e.g. the router's pod name. */
  holderId: string;
  /** How long a lease lasts without renewal, ms. */
  ttlMs: number;
  /** Called on every change of this contender's leadership (true: it now leads). */
  onChange?: (leading: boolean, lease: { holderId: string; term: bigint } | undefined) => void;
}

export interface LeaderElection {
  /** Whether this contender holds the lease now (false as soon as it may have lost it). */
  isLeader(): boolean;
  /** The holder as last seen ("" when none), and its term. */
  current(): { holderId: string; term: bigint };
  /** Stops contending; a holder releases the lease so another takes over at once. Idempotent. */
  close(): Promise<void>;
}
