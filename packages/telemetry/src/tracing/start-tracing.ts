/**
 * OpenTelemetry tracing for one process, through @opentelemetry/sdk-node and
 * the OTLP/HTTP trace exporter. Off unless configured: an endpoint from the
 * flag (`--otlp-endpoint URL`, the collector's base URL; spans go to
 * URL/v1/traces) or the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` keep it off whatever else is set. The SDK reads
 * the rest of the standard variables itself (`OTEL_SERVICE_NAME` over the
 * default name, `OTEL_TRACES_SAMPLER` and its argument, headers, timeouts).
 *
 * The spans are our own (router-runtime and worker-runtime make them); no
 * auto-instrumentation is loaded, so nothing patches grpc-js or http. Off,
 * the OpenTelemetry API hands out non-recording spans that cost next to
 * nothing. One process starts tracing once (the single-process cluster
 * shares one provider between its router and workers). The SDK is imported
 * only when tracing is on: loading it costs a process about 0.6 s here.
 */

export interface TracingOptions {
  /** service.name unless OTEL_SERVICE_NAME says otherwise, e.g. "sigmaserve-router". */
  serviceName: string;
  /** The OTLP collector's base URL (http://host:4318); overrides the environment's. */
  endpoint?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** Where spans go (the traces URL), when enabled. */
  readonly tracesUrl: string | undefined;
  /** Exports what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, tracesUrl: undefined, shutdown: async () => {} };

/** The traces URL tracing would export to, or undefined when it stays off. */
export function tracesUrlFrom(options: Pick<TracingOptions, "endpoint" | "env">): string | undefined {
  const env = options.env ?? process.env;
  if (env["OTEL_SDK_DISABLED"]?.toLowerCase() === "true") return undefined;
  if (env["OTEL_TRACES_EXPORTER"]?.split(",").map((s) => s.trim()).includes("none")) return undefined;
  const base = (url: string) => `${url.replace(/\/+$/, "")}/v1/traces`;
  if (options.endpoint !== undefined && options.endpoint !== "") return base(options.endpoint);
  const traces = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];
  if (traces !== undefined && traces !== "") return traces;
  const general = env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  if (general !== undefined && general !== "") return base(general);
  return undefined;
}

export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const tracesUrl = tracesUrlFrom(options);
  if (tracesUrl === undefined) return OFF;
  const env = options.env ?? process.env;
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([import("@opentelemetry/sdk-node"), import("@opentelemetry/exporter-trace-otlp-http")]);
  const sdk = new NodeSDK({
    serviceName: env["OTEL_SERVICE_NAME"] ?? options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: tracesUrl }),
    instrumentations: [],
    // Metrics are Prometheus's (/metrics), logs pino's: the SDK exports traces only.
    metricReaders: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracesUrl,
    shutdown: () => (stopped ??= sdk.shutdown()),
  };
}
