/**
 * Bounded admission: at most `maxInFlight` generations run through the
 * router at once and at most `maxQueued` wait for a slot; past that a request
 * is refused at once with RESOURCE_EXHAUSTED / 429 and a retry-after hint,
 * instead of queueing without bound and timing out later. A waiting request
 * whose caller gives up leaves the queue.
 *
 * With a TenantGate (tenant-gate.ts) and a claim, the tenant's own limits
 * come first: a request takes its tenant's slot, then a router slot, and its
 * release frees both, once.
 */
import { OverloadedError } from "../errors.js";
import type { AdmissionClaim, TenantGate } from "./tenant-gate.js";

/** Retry-after hint for a refused request, ms. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * Frees an admitted request's slots; only the first call counts. `usedTokens` (the finish's prompt + completion
 * tokens) refunds what it reserved and did not use to its tenant's tokens-per-second bucket.
 */
export type AdmissionRelease = (usedTokens?: number) => void;

export class AdmissionController {
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limits: { maxInFlight: number; maxQueued: number; retryAfterMs?: number; tenants?: TenantGate }) {}

  get stats(): { inFlight: number; queued: number } {
    return { inFlight: this.inFlight, queued: this.queue.length };
  }

  /**
   * Resolves with a release function once admitted: past the tenant's limits (with a claim and a TenantGate;
   * TenantLimitError otherwise), then a router slot (OverloadedError when the queue is full).
   */
  async acquire(signal?: AbortSignal, claim?: AdmissionClaim): Promise<AdmissionRelease> {
    const gate = this.limits.tenants;
    if (claim === undefined || gate === undefined) return this.acquireSlot(signal);
    const ticket = await gate.enter(claim, signal);
    let release: () => void;
    try {
      release = await this.acquireSlot(signal);
    } catch (err) {
      ticket.cancel();
      throw err;
    }
    return (usedTokens) => {
      release();
      ticket.leave(usedTokens);
    };
  }

  private async acquireSlot(signal?: AbortSignal): Promise<() => void> {
    if (this.inFlight < this.limits.maxInFlight) {
      this.inFlight++;
      return this.releaser();
    }
    if (this.queue.length >= this.limits.maxQueued) {
      throw new OverloadedError(`the router is at capacity (${this.inFlight} running, ${this.queue.length} queued); retry later`, this.limits.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
    }
    // A caller that already gave up is not queued: nothing would take it out before a slot frees.
    if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error("cancelled before it was queued");
    await new Promise<void>((resolve, reject) => {
      const entry = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.queue.indexOf(entry);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error("cancelled while queued"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next !== undefined) next();
      else this.inFlight--;
    };
  }
}
