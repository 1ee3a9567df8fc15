/**
 * An exponentially weighted moving average of a rate the worker measures
 * (prefill tokens per second, migration bytes per second), reported in its
 * load so a router can weigh moving a prefix against computing it. The first
 * sample is taken as it is; 0 means "not measured yet".
 */
export class Ewma {
  private current = 0;

  /** `weight`: the share of each new sample, 0 < weight ≤ 1. */
  constructor(private readonly weight = 0.2) {}

  add(sample: number): void {
    if (!Number.isFinite(sample) || sample <= 0) return;
    this.current = this.current === 0 ? sample : this.current + this.weight * (sample - this.current);
  }

  get value(): number {
    return this.current;
  }
}
