/** Observability shared by the router and the workers (see README.md). */
export { handleMetrics, startMetricsServer, type MetricsServer } from "./metrics/metrics-endpoint.js";
export { parseExposition, sample, type Exposition } from "./metrics/parse-exposition.js";
export { INTER_TOKEN_LATENCY_BUCKETS_S, REQUEST_LATENCY_BUCKETS_S, TTFT_BUCKETS_S, tokenCountBuckets } from "./metrics/vllm-buckets.js";
// The registry and metric types, re-exported so every process builds its metrics on one prom-client.
export { Counter, Gauge, Histogram, Registry } from "prom-client";
export { processRegistry } from "./metrics/process-registry.js";
export { startTracing, tracesUrlFrom, type Tracing, type TracingOptions } from "./tracing/start-tracing.js";
export { extractTraceContext, injectTraceContext, traceHeaders, type HeaderCarrier } from "./tracing/trace-context.js";
export { traceLogFields } from "./tracing/log-correlation.js";
export { LOG_LEVELS, LOG_LEVEL_ENV, echoLogLine, isLogLevel, levelNumber, processLogger, takeLogLevel, type LogLevel } from "./logging/process-logging.js";
export { CAPTURE_MESSAGE_CONTENT_ENV, captureMessageContentFromEnv } from "./tracing/message-content.js";
// The OpenTelemetry API the runtimes make their spans with (one copy, the one the SDK above registers with).
export { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
