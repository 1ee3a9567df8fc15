/**
 * The storage a LeaderElection needs: one KV entry per lease, changed only by
 * compare-and-set on its revision. NATS (JetStream KV: create / update with
 * the last revision / delete) and the memory hub implement it.
 */
export interface LeaseEntry {
  value: Uint8Array;
  revision: bigint;
}

export interface LeaseBackend {
  get(name: string): Promise<LeaseEntry | undefined>;
  /** Creates the entry; undefined when it exists already (someone else won). */
  create(name: string, value: Uint8Array): Promise<bigint | undefined>;
  /** Replaces the entry if its revision is still `revision`; undefined when it is not (someone else changed it). */
  update(name: string, value: Uint8Array, revision: bigint): Promise<bigint | undefined>;
  /** Deletes the entry if its revision is still `revision` (else leaves it). */
  delete(name: string, revision: bigint): Promise<void>;
}
