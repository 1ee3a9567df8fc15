/** Observability shared by the router and the workers (see README.md). */
export { handleMetrics, startMetricsServer, type MetricsServer } from "./metrics/metrics-endpoint.js";
export { INTER_TOKEN_LATENCY_BUCKETS_S, REQUEST_LATENCY_BUCKETS_S, TTFT_BUCKETS_S, tokenCountBuckets } from "./metrics/vllm-buckets.js";
// The registry and metric types, re-exported so every process builds its metrics on one prom-client.
export { Counter, Gauge, Histogram, Registry } from "prom-client";
