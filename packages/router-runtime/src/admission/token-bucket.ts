/**
 * A token bucket: it holds up to `burst` tokens and gains `ratePerS` a
 * second; a request takes its cost out. It starts full, so a quiet tenant
 * may send a burst at once.
 *
 * A cost larger than the burst (a 4,000-token request under a 2,000-token
 * burst) is admitted once the bucket is full and leaves it in debt: the
 * bucket goes negative and refills from there. Refusing it outright would
 * make a request that fits the model's context unservable whatever the
 * client waits; with debt the rate still holds over time.
 *
 * Time comes from an injected clock in ms (monotonic in production), so tests
 * step it by hand and assert exact waits.
 */

/** One second's worth of the rate is the default burst. */
export const DEFAULT_BURST_S = 1;

export type Clock = () => number;

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly ratePerS: number,
    readonly burst: number,
    private readonly nowMs: Clock = () => performance.now(),
  ) {
    if (!(ratePerS > 0) || !(burst > 0)) throw new RangeError(`a token bucket needs a rate and a burst above 0, got ${ratePerS}/s, burst ${burst}`);
    this.tokens = burst;
    this.lastMs = nowMs();
  }

  /** Tokens held now (negative while in debt). */
  get level(): number {
    this.refill();
    return this.tokens;
  }

  /** How long until `cost` can be taken, ms, rounded up; 0: now. */
  waitMs(cost: number): number {
    this.refill();
    const needed = Math.min(cost, this.burst);
    if (this.tokens >= needed) return 0;
    return Math.ceil(((needed - this.tokens) / this.ratePerS) * 1000);
  }

  /** Takes `cost` (callers check waitMs first; taking more than is there leaves debt). */
  take(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }

  /** Gives back tokens taken for work that did not happen; never past the burst. */
  refund(amount: number): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, amount));
  }

  private refill(): void {
    const now = this.nowMs();
    const elapsedMs = Math.max(0, now - this.lastMs);
    this.lastMs = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs / 1000) * this.ratePerS);
  }
}
