/**
 * LeaderElection (leader-election.ts) over a LeaseBackend: the one
 * implementation both buses use. Times are wall-clock ms.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { coordv1 } from "@sigmaserve/proto";
import type { LeaderElection, LeaderElectionOptions } from "../leader-election.js";
import { CoordArgumentError } from "../errors.js";
import { checkWorkerId } from "../subjects.js";
import type { LeaseBackend } from "./lease-backend.js";

/** A holder stops leading this long before its lease expires by its own clock, so a contender (same clock) never overlaps it. */
const STEP_DOWN_MARGIN_FRACTION = 0.1;
/** A contender tries again this long after a lease's expiry, ms (its read of the expiry is exact; this only orders the two). */
const AFTER_EXPIRY_MS = 5;

export class BusLeaderElection implements LeaderElection {
  readonly #backend: LeaseBackend;
  readonly #options: LeaderElectionOptions;
  readonly #onError: (err: Error) => void;
  #leading = false;
  /** The entry we hold: its revision and term, and when it expires. */
  #held: { revision: bigint; term: bigint; expiresAtMs: number } | undefined;
  #current = { holderId: "", term: 0n };
  #timer: NodeJS.Timeout | undefined;
  #stepDownTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #running: Promise<void> = Promise.resolve();

  constructor(backend: LeaseBackend, options: LeaderElectionOptions, onError: (err: Error) => void) {
    checkWorkerId(options.name, "name");
    checkWorkerId(options.holderId, "holderId");
    if (!(options.ttlMs >= 100)) throw new CoordArgumentError("ttlMs", `must be at least 100 ms, got ${options.ttlMs}`);
    this.#backend = backend;
    this.#options = options;
    this.#onError = onError;
  }

  /** Makes the first attempt; resolves once it is known whether this contender leads. */
  async start(): Promise<void> {
    await this.#tick();
  }

  isLeader(): boolean {
    return this.#leading;
  }

  current(): { holderId: string; term: bigint } {
    return { ...this.#current };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running.catch(() => {});
    const held = this.#held;
    this.#setLeading(false);
    if (held !== undefined) await this.#backend.delete(this.#options.name, held.revision).catch((err: unknown) => this.#onError(err as Error));
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), Math.max(0, delayMs));
    this.#timer.unref();
  }

  #tick(): Promise<void> {
    const run = this.#attempt().then(
      (nextMs) => this.#schedule(nextMs),
      (err: unknown) => {
        this.#onError(err as Error);
        this.#schedule(this.#options.ttlMs / 3);
      },
    );
    this.#running = run;
    return run;
  }

  /** One step: renew what we hold, or try to take the lease. Returns the delay to the next step, ms. */
  async #attempt(): Promise<number> {
    if (this.#closed) return 0;
    const { name, holderId, ttlMs } = this.#options;
    const renewEvery = ttlMs / 3;
    if (this.#held !== undefined) {
      const expiresAtMs = Date.now() + ttlMs;
      const revision = await this.#backend.update(name, this.#encode(expiresAtMs, this.#held.term), this.#held.revision);
      if (this.#closed) return 0;
      if (revision === undefined) {
        // Someone changed the entry under us: it is not ours any more.
        this.#setLeading(false);
        return 0;
      }
      this.#hold(revision, this.#held.term, expiresAtMs);
      return renewEvery;
    }
    const entry = await this.#backend.get(name);
    if (this.#closed) return 0;
    const now = Date.now();
    if (entry !== undefined) {
      const lease = fromBinary(coordv1.LeaderLeaseSchema, entry.value);
      this.#current = { holderId: lease.holderId, term: lease.term };
      const expiresAtMs = Number(lease.expiresAtUnixMs);
      if (expiresAtMs > now && lease.holderId !== holderId) return Math.min(renewEvery, expiresAtMs - now + AFTER_EXPIRY_MS);
      // Expired, or ours from an earlier life of this contender: take it over by compare-and-set.
      const term = lease.term + 1n;
      const taken = await this.#backend.update(name, this.#encode(now + ttlMs, term), entry.revision);
      if (taken === undefined || this.#closed) return 0;
      this.#hold(taken, term, now + ttlMs);
      return renewEvery;
    }
    const term = this.#current.term + 1n;
    const created = await this.#backend.create(name, this.#encode(now + ttlMs, term));
    if (created === undefined || this.#closed) return 0;
    this.#hold(created, term, now + ttlMs);
    return renewEvery;
  }

  #hold(revision: bigint, term: bigint, expiresAtMs: number): void {
    this.#held = { revision, term, expiresAtMs };
    this.#current = { holderId: this.#options.holderId, term };
    clearTimeout(this.#stepDownTimer);
    // If no renewal lands before then, stop leading: by then a contender may take the lease.
    const stepDownAtMs = expiresAtMs - this.#options.ttlMs * STEP_DOWN_MARGIN_FRACTION;
    this.#stepDownTimer = setTimeout(() => this.#setLeading(false), stepDownAtMs - Date.now());
    this.#stepDownTimer.unref();
    this.#setLeading(true);
  }

  #setLeading(leading: boolean): void {
    if (!leading) {
      this.#held = undefined;
      clearTimeout(this.#stepDownTimer);
    }
    if (leading === this.#leading) return;
    this.#leading = leading;
    try {
      this.#options.onChange?.(leading, this.#current.holderId === "" ? undefined : { ...this.#current });
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  #encode(expiresAtMs: number, term: bigint): Uint8Array {
    return toBinary(coordv1.LeaderLeaseSchema, create(coordv1.LeaderLeaseSchema, { holderId: this.#options.holderId, expiresAtUnixMs: BigInt(Math.round(expiresAtMs)), term }));
  }
}
