/**
 * Percentiles and the per-run summary: latency percentiles, throughput,
 * goodput against the SLO, rejections and the prefix hit rate.
 */
import type { RequestRecord } from "./load-generator.js";

/** The SLO a request must meet to count toward goodput. */
export const SLO_TTFT_MS = 500;
export const SLO_MEAN_ITL_MS = 50;

/** Percentile `p` (0–100) by linear interpolation between closest ranks; NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
export const mean = (values: readonly number[]) => (values.length === 0 ? Number.NaN : sum(values) / values.length);

export interface RunSummary {
  requests: number;
  ok: number;
  rejected: number;
  errors: number;
  ttft: { p50: number; p90: number; p99: number; mean: number };
  itl: { p50: number; p90: number; p99: number; mean: number };
  e2e: { p50: number; p90: number; p99: number; mean: number };
  outputTokensPerS: number;
  requestsPerS: number;
  goodputRequestsPerS: number;
  /** Share of all requests that finished within the SLO. */
  goodputRatio: number;
  rejectionRate: number;
  errorRate: number;
  prefixHitRate: number;
  /** Wall time from the first send to the last completion, s (summed over repeats). */
  seconds: number;
}

const spread = (values: readonly number[]) => ({ p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), mean: mean(values) });

/** Mean inter-token latency of one request: (last chunk − first chunk) / (tokens − 1); 0 with one token. */
export function meanItlMs(record: RequestRecord): number {
  if (record.outputTokens <= 1 || record.ttftMs === undefined || record.lastTokenMs === undefined) return 0;
  return (record.lastTokenMs - record.ttftMs) / (record.outputTokens - 1);
}

/** Summary of one configuration; `runs` are its repeats (each timed on its own clock), pooled. */
export function summarize(runs: readonly (readonly RequestRecord[])[]): RunSummary {
  const records = runs.flat();
  const ok = records.filter((r) => r.outcome === "ok");
  const rejected = records.filter((r) => r.outcome === "rejected").length;
  const errors = records.filter((r) => r.outcome === "error").length;
  const seconds = runs.reduce((sum, run) => sum + (Math.max(...run.map((r) => r.sentAtMs + (r.e2eMs ?? 0))) - Math.min(...run.map((r) => r.sentAtMs))) / 1000, 0);
  const outputTokens = ok.reduce((sum, r) => sum + r.outputTokens, 0);
  const promptTokens = ok.reduce((sum, r) => sum + r.promptTokens, 0);
  const cachedTokens = ok.reduce((sum, r) => sum + r.cachedPromptTokens, 0);
  const good = ok.filter((r) => r.ttftMs! <= SLO_TTFT_MS && meanItlMs(r) <= SLO_MEAN_ITL_MS).length;
  return {
    requests: records.length,
    ok: ok.length,
    rejected,
    errors,
    ttft: spread(ok.map((r) => r.ttftMs!)),
    itl: spread(ok.flatMap((r) => r.itlMs)),
    e2e: spread(ok.map((r) => r.e2eMs!)),
    outputTokensPerS: outputTokens / seconds,
    requestsPerS: ok.length / seconds,
    goodputRequestsPerS: good / seconds,
    goodputRatio: good / records.length,
    rejectionRate: rejected / records.length,
    errorRate: errors / records.length,
    prefixHitRate: promptTokens === 0 ? 0 : cachedTokens / promptTokens,
    seconds,
  };
}
