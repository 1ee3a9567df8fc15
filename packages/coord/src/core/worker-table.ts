/**
 * The watcher's view of the registry: turns what a backend observes (puts,
 * removals, complete listings) into joined / updated / left events.
 *
 * Model: one entry per worker id holding the last bytes seen. A put with the
 * same bytes is a heartbeat and only restarts the local TTL; different bytes
 * are an update, or, when the epoch changed, a restart ("left" then "joined").
 * With a local TTL (NATS), an entry not put again within it has "expired".
 * Expiry is suspended while the backend is unreachable: silence then says
 * nothing about the worker.
 *
 * A listing (the first one, and one after every reconnect) is applied as:
 * listed entries are put; known ids whose newest record is a delete marker
 * have "deregistered"; known ids missing altogether are kept for one more TTL
 * and have "lost" unless they are put again by then.
 * NOTE: that grace is deliberate. An outage longer than the TTL (or a server
 * that restarts with an empty store) empties the registry of live workers as
 * well as dead ones; dropping them all on the re-listing would leave a router
 * with no workers, and wipe their cache affinity, until the next heartbeats.
 * A live worker re-puts within a heartbeat of its own reconnect; a dead one
 * is gone one TTL after the router's.
 */
import { coordv1 } from "@sigmaserve/proto";
import type { WorkerEvent, WorkerLeftReason } from "../coord-bus.js";
import { CoordError } from "../errors.js";
import { asError, bytesEqual, decodeFrom } from "./codec.js";
import type { RegistryListing, RegistrySink } from "./transport.js";

interface Entry {
  bytes: Uint8Array;
  info: coordv1.WorkerInfo;
  expiry: NodeJS.Timeout | undefined;
}

export class WorkerTable implements RegistrySink {
  readonly #entries = new Map<string, Entry>();
  readonly #emit: (event: WorkerEvent) => void;
  readonly #onError: (err: Error) => void;
  #localTtlMs: number | undefined;
  #closed = false;

  /** `emit` gets every event; if it throws, the error goes to `onError` and the view stays consistent. */
  constructor(emit: (event: WorkerEvent) => void, onError: (err: Error) => void) {
    this.#emit = emit;
    this.#onError = onError;
  }

  put(workerId: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    const known = this.#entries.get(workerId);
    if (known !== undefined && bytesEqual(known.bytes, bytes)) {
      this.#arm(workerId, known);
      return;
    }
    let info: coordv1.WorkerInfo;
    try {
      info = decodeFrom(coordv1.WorkerInfoSchema, bytes, `registry key ${workerId}`);
    } catch (err) {
      this.#onError(asError(err));
      return;
    }
    if (info.workerId !== workerId) {
      this.#onError(new CoordError(`registry key ${workerId} holds the WorkerInfo of ${JSON.stringify(info.workerId)}; ignored`));
      return;
    }
    const entry: Entry = { bytes, info, expiry: undefined };
    if (known === undefined) {
      this.#set(workerId, entry);
      this.#send({ kind: "joined", workerId, info });
    } else if (known.info.epoch !== info.epoch) {
      this.#drop(workerId, known);
      this.#send({ kind: "left", workerId, info: known.info, reason: "restarted" });
      this.#set(workerId, entry);
      this.#send({ kind: "joined", workerId, info });
    } else {
      this.#drop(workerId, known);
      this.#set(workerId, entry);
      this.#send({ kind: "updated", workerId, info, previous: known.info });
    }
  }

  remove(workerId: string, reason: WorkerLeftReason): void {
    if (this.#closed) return;
    const known = this.#entries.get(workerId);
    if (known === undefined) return;
    this.#drop(workerId, known);
    this.#send({ kind: "left", workerId, info: known.info, reason });
  }

  relist(listing: RegistryListing): void {
    if (this.#closed) return;
    this.#localTtlMs = listing.localTtlMs;
    for (const [workerId, entry] of [...this.#entries]) {
      if (listing.entries.has(workerId)) continue;
      if (listing.deleted.has(workerId)) this.remove(workerId, "deregistered");
      else if (this.#localTtlMs === undefined) this.remove(workerId, "lost");
      else this.#arm(workerId, entry, "lost");
    }
    for (const [workerId, bytes] of listing.entries) this.put(workerId, bytes);
  }

  suspendExpiry(): void {
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.expiry);
      entry.expiry = undefined;
    }
  }

  workers(): ReadonlyMap<string, coordv1.WorkerInfo> {
    return new Map([...this.#entries].map(([workerId, entry]) => [workerId, entry.info]));
  }

  close(): void {
    this.#closed = true;
    this.suspendExpiry();
    this.#entries.clear();
  }

  #set(workerId: string, entry: Entry): void {
    this.#entries.set(workerId, entry);
    this.#arm(workerId, entry);
  }

  #drop(workerId: string, entry: Entry): void {
    clearTimeout(entry.expiry);
    this.#entries.delete(workerId);
  }

  #arm(workerId: string, entry: Entry, reason: "expired" | "lost" = "expired"): void {
    clearTimeout(entry.expiry);
    entry.expiry = undefined;
    if (this.#localTtlMs === undefined) return;
    entry.expiry = setTimeout(() => this.remove(workerId, reason), this.#localTtlMs);
    entry.expiry.unref();
  }

  #send(event: WorkerEvent): void {
    try {
      this.#emit(event);
    } catch (err) {
      this.#onError(asError(err));
    }
  }
}
