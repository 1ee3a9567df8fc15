/**
 * Get-or-create of a cluster secret on a compare-and-set store: read the
 * entry; if there is none, create it with fresh random bytes; if someone else
 * created it first (the create loses), read theirs. Every caller therefore
 * ends with the same bytes, whoever came first, and nobody overwrites them.
 */
import { randomBytes } from "node:crypto";
import { CoordArgumentError, CoordUnavailableError } from "../errors.js";
import type { LeaseBackend } from "./lease-backend.js";

/** Bytes of a cluster secret: 256 bits, a full HMAC-SHA256 key. */
export const CLUSTER_SECRET_BYTES = 32;

export async function getOrCreateClusterSecret(store: LeaseBackend, name: string): Promise<Uint8Array> {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(name)) throw new CoordArgumentError("name", `must be 1-128 letters, digits, - and _, got ${JSON.stringify(name)}`);
  const existing = await store.get(name);
  if (existing !== undefined) return checked(name, existing.value);
  const fresh = randomBytes(CLUSTER_SECRET_BYTES);
  if ((await store.create(name, fresh)) !== undefined) return checked(name, fresh);
  // NOTE: lost the race: the winner's entry exists now (create only fails on an existing key).
  const winner = await store.get(name);
  if (winner === undefined) throw new CoordUnavailableError(`the cluster secret ${name} was created and deleted at once; ask again`);
  return checked(name, winner.value);
}

/** A plain Uint8Array copy (NATS hands out Buffers); a secret of the wrong size was not written by us: refuse it rather than key anything with it. */
function checked(name: string, value: Uint8Array): Uint8Array {
  if (value.length !== CLUSTER_SECRET_BYTES) throw new CoordUnavailableError(`the stored cluster secret ${name} holds ${value.length} bytes, not ${CLUSTER_SECRET_BYTES}; delete the entry to make a new one`);
  return Uint8Array.from(value);
}
