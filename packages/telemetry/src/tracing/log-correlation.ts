/**
 * Log lines carry the active span's ids: pino's `mixin` option merges the
 * returned fields into every line, so a line written inside a span names its
 * `trace_id` and `span_id` (the field names OpenTelemetry's log data model and
 * pino's own OTel instrumentation use). Outside a span, or with tracing off,
 * nothing is added.
 */
import { isSpanContextValid, trace, type Context } from "@opentelemetry/api";

/**
 * The ids of the active span, or of the span in `ctx`: code that carries a
 * request's context explicitly (an async generator resumes in its consumer's
 * context) passes it, and spreads the result into its log line.
 */
export function traceLogFields(ctx?: Context): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const span = ctx === undefined ? trace.getActiveSpan() : trace.getSpan(ctx);
  if (span === undefined) return {};
  const ids = span.spanContext();
  if (!isSpanContextValid(ids)) return {};
  return { trace_id: ids.traceId, span_id: ids.spanId, trace_flags: `0${ids.traceFlags.toString(16)}` };
}
