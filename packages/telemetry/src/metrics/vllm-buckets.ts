/**
 * Histogram bucket boundaries, in seconds, exactly vLLM's defaults
 * (vllm/v1/metrics: one family per histogram), so dashboards and recording
 * rules written for vLLM read our series with the same resolution. The first
 * 16 TTFT boundaries are also the OpenTelemetry GenAI conventions' buckets for
 * gen_ai.server.time_to_first_token.
 */
export const TTFT_BUCKETS_S: readonly number[] = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
export const INTER_TOKEN_LATENCY_BUCKETS_S: readonly number[] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
/** End-to-end, queue, prefill and decode times of a request. */
export const REQUEST_LATENCY_BUCKETS_S: readonly number[] = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** vLLM's token-count buckets: 1, 2, 5, 10, 20, 50, ... up to `max` (the model's context), `max` included. */
export function tokenCountBuckets(max: number): number[] {
  const out: number[] = [];
  for (let decade = 1; decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade <= max) out.push(m * decade);
  }
  if (out.at(-1) !== max) out.push(max);
  return out;
}
