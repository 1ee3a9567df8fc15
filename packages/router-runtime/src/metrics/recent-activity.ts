/**
 * What the status page shows of the last minute: the request rate and the
 * client-side TTFT quantiles over a sliding window, and the last routing
 * decisions with every candidate's cost. Bounded: at most `maxDecisions`
 * decisions and the completions of one window are kept.
 */
import type { RouteDecision, RoutedRequest } from "../generate/dispatcher.js";

export const RECENT_WINDOW_MS = 60_000;
export const RECENT_DECISIONS = 20;

export interface RecentDecision {
  at_unix_ms: number;
  request_id: string;
  model: string;
  policy: string;
  worker_id: string;
  matched_blocks: number;
  candidates: { worker_id: string; cost: number; eligible: boolean }[];
}

export interface RecentActivityView {
  window_s: number;
  requests_per_s: number;
  ttft_ms_p50: number | null;
  ttft_ms_p99: number | null;
  /** Newest first. */
  decisions: RecentDecision[];
}

export class RecentActivity {
  private readonly decisions: RecentDecision[] = [];
  /** Completions in the window: [finished at (ms since the epoch), TTFT ms]. */
  private readonly completions: [number, number][] = [];

  constructor(private readonly options: { windowMs?: number; maxDecisions?: number } = {}) {}

  decided(request: RoutedRequest, decision: RouteDecision, nowMs: number = Date.now()): void {
    this.decisions.unshift({
      at_unix_ms: nowMs,
      request_id: request.requestId,
      model: request.model,
      policy: decision.policy,
      worker_id: decision.workerId,
      matched_blocks: decision.matchedBlocks,
      candidates: (decision.candidates ?? []).map((c) => ({ worker_id: c.workerId, cost: Number(c.cost.toFixed(4)), eligible: c.eligible })),
    });
    this.decisions.length = Math.min(this.decisions.length, this.options.maxDecisions ?? RECENT_DECISIONS);
  }

  completed(ttftMs: number, nowMs: number = Date.now()): void {
    this.completions.push([nowMs, ttftMs]);
    this.expire(nowMs);
  }

  view(nowMs: number = Date.now()): RecentActivityView {
    this.expire(nowMs);
    const windowMs = this.options.windowMs ?? RECENT_WINDOW_MS;
    const ttfts = this.completions.map(([, ttft]) => ttft).sort((a, b) => a - b);
    const quantile = (q: number) => (ttfts.length === 0 ? null : ttfts[Math.min(ttfts.length - 1, Math.floor(q * ttfts.length))]!);
    return { window_s: windowMs / 1000, requests_per_s: this.completions.length / (windowMs / 1000), ttft_ms_p50: quantile(0.5), ttft_ms_p99: quantile(0.99), decisions: [...this.decisions] };
  }

  /** The q-quantile of the TTFTs of requests completed since `sinceMs` (within the window), ms; null when none. */
  ttftQuantile(q: number, sinceMs: number, nowMs: number = Date.now()): number | null {
    this.expire(nowMs);
    const ttfts = this.completions.filter(([at]) => at >= sinceMs).map(([, ttft]) => ttft).sort((a, b) => a - b);
    return ttfts.length === 0 ? null : ttfts[Math.min(ttfts.length - 1, Math.floor(q * ttfts.length))]!;
  }

  private expire(nowMs: number): void {
    const from = nowMs - (this.options.windowMs ?? RECENT_WINDOW_MS);
    let drop = 0;
    while (drop < this.completions.length && this.completions[drop]![0] < from) drop++;
    if (drop > 0) this.completions.splice(0, drop);
  }
}
