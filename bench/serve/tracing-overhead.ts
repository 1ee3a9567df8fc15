/**
 * Part `tracing` of the serve bench: the same load through the router with
 * tracing on (every process exporting every span, sampler 1.0, to an OTLP/HTTP
 * sink in this process) and off, in alternating rounds. Reports the CPU per
 * request of the router and the worker, and TTFT p50/p99, on against off.
 * The sink counts what arrives, so "on" is checked to have traced every
 * request.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Row } from "../lib/bench-result.js";
import { measure, type ClusterConfig, type Load, type Measurement } from "./measure.js";
import { percentile, summarize, type RunSummary } from "./percentiles.js";
import type { Settings } from "./settings.js";
import { buildWorkload, poissonArrivalsMs } from "./workload.js";

/** An OTLP/HTTP endpoint that takes trace exports and counts the spans in them. */
async function startSpanSink(): Promise<{ url: string; spans: () => number; close(): Promise<void> }> {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      // OTLP JSON: count the spans without keeping them.
      spans += (Buffer.concat(chunks).toString("utf8").match(/"spanId":/g) ?? []).length;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `modelDir`: the worker's model, as in the router-cost comparison (a sigma-tiny with fewer layers, so one
 * worker keeps up with the load on 2 cores and TTFT measures the request path rather than a queue).
 */
export async function compareTracing(settings: Settings, rows: Row[], ratios: Record<string, number>, row: (part: string, config: string, load: string, s: RunSummary) => Row, modelDir: string | undefined): Promise<void> {
  const workload = buildWorkload({ tenants: settings.tenants, prefixTokens: settings.prefixTokens, questionTokens: settings.questionTokens, maxTokens: settings.maxTokens, seed: settings.seed, requests: settings.directRequests });
  const load: Load = { mode: "poisson", ratePerS: settings.directRate, arrivalsMs: poissonArrivalsMs(settings.directRequests, settings.directRate, settings.seed) };
  const label = `poisson ${settings.directRate}/s`;
  const sink = await startSpanSink();
  const runs = { on: [] as Measurement[], off: [] as Measurement[] };
  const spansPerRequest: number[] = [];
  // The SDK's batch processor exports every 5 s by default; 500 ms keeps its queue short at this rate.
  const previousDelay = process.env["OTEL_BSP_SCHEDULE_DELAY"];
  process.env["OTEL_BSP_SCHEDULE_DELAY"] = "500";
  try {
    for (let round = 0; round < settings.directRounds; round++) {
      for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
        const flags = on ? ["--otlp-endpoint", sink.url] : [];
        const cluster: ClusterConfig = { workers: 1, policy: "kv_aware", kvDeviceMib: settings.directKvDeviceMib, direct: false, warmPrefixes: true, warmupRequests: { count: settings.directWarmupRequests, ratePerS: settings.directRate }, routerFlags: flags, workerFlags: flags, ...(modelDir === undefined ? {} : { modelDir }) };
        const before = sink.spans();
        const measured = await measure(`tracing ${on ? "on" : "off"} ${label} round ${round + 1}`, cluster, workload, load, { seed: settings.seed, timeoutMs: settings.timeoutMs });
        runs[on ? "on" : "off"].push(measured);
        // The warm-up requests before the measured load are traced too.
        if (on) spansPerRequest.push((sink.spans() - before) / (measured.records.length + settings.directWarmupRequests + settings.tenants));
      }
    }
  } finally {
    if (previousDelay === undefined) delete process.env["OTEL_BSP_SCHEDULE_DELAY"];
    else process.env["OTEL_BSP_SCHEDULE_DELAY"] = previousDelay;
    await sink.close();
  }
  const on = summarize(runs.on.map((m) => m.records));
  const off = summarize(runs.off.map((m) => m.records));
  rows.push(row("tracing", "off", label, off), row("tracing", "on (sampler 1.0)", label, on));
  const cpuPerRequest = (list: Measurement[], pick: (m: Measurement) => number) => list.reduce((s, m) => s + pick(m), 0) / list.reduce((s, m) => s + m.records.length, 0);
  ratios["tracing_router_cpu_ms_per_request_on"] = cpuPerRequest(runs.on, (m) => m.cpuMs.router);
  ratios["tracing_router_cpu_ms_per_request_off"] = cpuPerRequest(runs.off, (m) => m.cpuMs.router);
  ratios["tracing_worker_cpu_ms_per_request_on"] = cpuPerRequest(runs.on, (m) => m.cpuMs.workers);
  ratios["tracing_worker_cpu_ms_per_request_off"] = cpuPerRequest(runs.off, (m) => m.cpuMs.workers);
  ratios["tracing_added_router_cpu_ms_per_request"] = ratios["tracing_router_cpu_ms_per_request_on"] - ratios["tracing_router_cpu_ms_per_request_off"];
  ratios["tracing_added_worker_cpu_ms_per_request"] = ratios["tracing_worker_cpu_ms_per_request_on"] - ratios["tracing_worker_cpu_ms_per_request_off"];
  ratios["tracing_ttft_p50_ms_on"] = on.ttft.p50;
  ratios["tracing_ttft_p50_ms_off"] = off.ttft.p50;
  ratios["tracing_ttft_p99_ms_on"] = on.ttft.p99;
  ratios["tracing_ttft_p99_ms_off"] = off.ttft.p99;
  ratios["tracing_spans_per_request"] = percentile(spansPerRequest, 50);
}
