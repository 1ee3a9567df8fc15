/**
 * `npm run soak -- --minutes 30` (issue 15 §3): mixed traffic against a real
 * cluster (a nats-server, one router, `--workers` workers) for a set time,
 * with faults, then a quiesce and the checks. The traffic (traffic.ts):
 * streamed and unary requests over gRPC (SDK) and HTTP, from 3 tenants with
 * API keys, on a few shared long prefixes, some cancelled mid-stream. The
 * faults (faults.ts): alternately a worker SIGKILLed and a worker drained
 * with migration, each replaced. Reported, each with pass/fail:
 *
 *   (a) leaked blocks after the quiesce: every worker's used KV blocks
 *       (GetLoad) and the router's in-flight requests must be 0;
 *   (b) memory growth per process after the warm-up: mean RSS of the last
 *       window over the first (target < 5%), for every process that lived
 *       through both (the router, NATS, the anchor worker);
 *   (c) KV index drift: the router's per-worker block counts against the
 *       workers' own, from the soak's router and from an observer router
 *       that resyncs from snapshots at the end; must be 0;
 *   (d) TTFT p99 of the last window over the first;
 *   (e) request outcomes: errors with no fault under way must be 0.
 *
 * Performance ((b), (d)) is measured here, never asserted in tests.
 */
import type { BenchResult, Row } from "../lib/bench-result.js";
import { scrapeMetrics, sumOf, type PromSample } from "../lib/prometheus-text.js";
import { setTimeout as sleep } from "node:timers/promises";
import { indexDrift, quiesce } from "./cluster-checks.js";
import { Faults } from "./faults.js";
import { Fleet } from "./fleet.js";
import { MemorySampler, type Window } from "./memory-sampler.js";
import { countOutcomes, errorMessages, ttftIn } from "./outcomes.js";
import { parseSoakSettings, TARGET_MEMORY_GROWTH_MAX, TARGET_TTFT_P99_DRIFT_MAX } from "./settings.js";
import { Traffic, type Tenant } from "./traffic.js";

export const TENANTS: readonly Tenant[] = [
  { name: "tenant-a", apiKey: "sk-soak-a" },
  { name: "tenant-b", apiKey: "sk-soak-b" },
  { name: "tenant-c", apiKey: "sk-soak-c" },
];
/** No fault starts in the last part of the run (this share of it, at least FAULT_QUIET_MIN_MS), so the last window is not only recovery. */
const FAULT_QUIET_SHARE = 0.15;
const FAULT_QUIET_MIN_MS = 10_000;
/** How often progress is printed, ms. */
const PROGRESS_EVERY_MS = 30_000;
/** While the traffic and the faults stop, the requests still in flight are printed this often, ms. */
const STOP_WATCHDOG_MS = 15_000;
/** How long the routers' indexes get to agree with the workers, ms. */
const DRIFT_WAIT_MS = 20_000;

const log = (line: string) => process.stderr.write(`soak: ${line}\n`);
const verdict = (pass: boolean) => (pass ? "pass" : "FAIL");

function routerCounters(samples: readonly PromSample[]) {
  return {
    failovers: Object.fromEntries(["retry", "replay", "handover"].map((kind) => [kind, sumOf(samples, "sigmaserve_router_failovers_total", { kind })])),
    requestsOk: sumOf(samples, "sigmaserve_router_requests_total", { status: "ok" }),
    requestsError: sumOf(samples, "sigmaserve_router_requests_total", { status: "error" }),
    errorTypes: Object.fromEntries(samples.filter((s) => s.name === "sigmaserve_router_requests_total" && s.labels["status"] === "error").map((s) => [s.labels["error_type"] ?? "", s.value])),
    admissionRejections: sumOf(samples, "sigmaserve_router_admission_rejections_total"),
    defaultProcessMetricsRegistered: samples.some((s) => s.name === "process_resident_memory_bytes" || s.name === "nodejs_heap_size_used_bytes"),
  };
}

export async function run(args: string[]): Promise<BenchResult> {
  const settings = parseSoakSettings(args);
  // SIGTERM (a test that gives up on the soak) exits through the exit hooks, which kill every process the soak started.
  process.once("SIGTERM", () => process.exit(143));
  const durationMs = settings.minutes * 60_000;
  const apiKey = TENANTS[0]!.apiKey;
  log(`${settings.minutes} min, ${settings.workers} workers, ${settings.clients} clients`);
  const { fleet, router } = await Fleet.start(settings.workers, {
    workerFlags: ["--kv-device-mib", String(settings.kvDeviceMib)],
    routerFlags: ["--policy", "kv_aware", "--api-keys", TENANTS.map((t) => `${t.apiKey}=${t.name}`).join(",")],
  });
  try {
    const sampler = new MemorySampler(fleet);
    const traffic = new Traffic({ grpcAddress: router.grpcAddress, httpAddress: router.httpAddress, tenants: TENANTS, ...settings });
    const faults = new Faults(fleet, fleet.workers[0]!.id);
    const startMs = performance.now();
    const endMs = startMs + durationMs;
    sampler.start(settings.sampleEveryS * 1000);
    traffic.start();
    if (settings.faultEveryS > 0) faults.start(Math.min(settings.faultEveryS * 1000, durationMs / 3), endMs - Math.max(FAULT_QUIET_MIN_MS, FAULT_QUIET_SHARE * durationMs));
    while (performance.now() < endMs) {
      await sleep(Math.min(PROGRESS_EVERY_MS, endMs - performance.now()));
      const counts = countOutcomes(traffic.records, faults.records);
      const routerRss = sampler.samples.filter((s) => s.id === "router").at(-1)?.rssBytes ?? Number.NaN;
      log(`${((performance.now() - startMs) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}, router RSS ${(routerRss / 2 ** 20).toFixed(1)} MiB`);
    }
    const trafficEndMs = performance.now();
    // Both stop now: a fault under way finishes (its replacement joins), no client starts another request.
    traffic.requestStop();
    const watchdog = setInterval(() => log(`still stopping after ${((performance.now() - trafficEndMs) / 1000).toFixed(0)} s; in flight: ${JSON.stringify(traffic.inFlight())}`), STOP_WATCHDOG_MS);
    let stoppedAfterMs: number;
    try {
      await Promise.all([faults.stop(), traffic.stop()]);
      stoppedAfterMs = Math.round(performance.now() - trafficEndMs);
    } finally {
      clearInterval(watchdog);
    }
    sampler.sample();
    sampler.stop();
    log(`traffic stopped (${traffic.records.length} requests, the last in flight ended after ${stoppedAfterMs} ms); quiescing`);

    const counters = routerCounters(await scrapeMetrics(router.httpAddress));
    const quiet = await quiesce(fleet.workers, router.httpAddress, apiKey, settings.quiesceS * 1000);
    const drift = await indexDrift(fleet.workers, router.httpAddress, apiKey, DRIFT_WAIT_MS);
    const observer = await fleet.startRouter("observer", ["--api-keys", `${apiKey}=${TENANTS[0]!.name}`]);
    const driftAfterResync = await indexDrift(fleet.workers, observer.httpAddress, apiKey, DRIFT_WAIT_MS);

    const warmupEndMs = startMs + settings.warmupShare * durationMs;
    const windowMs = settings.windowShare * (trafficEndMs - warmupEndMs);
    const first: Window = { startMs: warmupEndMs, endMs: warmupEndMs + windowMs };
    const last: Window = { startMs: trafficEndMs - windowMs, endMs: trafficEndMs };
    const memory = sampler.growth(first, last);
    const ttftFirst = ttftIn(traffic.records, first);
    const ttftLast = ttftIn(traffic.records, last);
    const ttftDrift = ttftLast.p99Ms / ttftFirst.p99Ms;
    const outcomes = countOutcomes(traffic.records, faults.records);

    const leaked = quiet.leakedBlocks + quiet.routerInFlight + quiet.admissionInFlight + quiet.admissionQueued;
    const rows: Row[] = [
      { criterion: "a leaked blocks + router in flight after quiesce", measured: leaked, target: "0", result: verdict(leaked === 0) },
      ...memory
        .filter((m) => m.rssGrowth !== null)
        .map((m) => ({ criterion: `b RSS growth ${m.id} (${m.firstRssMib} → ${m.lastRssMib} MiB; anon ${m.firstAnonMib} → ${m.lastAnonMib})`, measured: m.rssGrowth!, target: `< ${TARGET_MEMORY_GROWTH_MAX}`, result: verdict(m.rssGrowth! < TARGET_MEMORY_GROWTH_MAX) })),
      { criterion: "c index drift, soak router (events), blocks", measured: drift.driftBlocks, target: "0", result: verdict(drift.driftBlocks === 0 && drift.inSync) },
      { criterion: "c index drift, observer router (resync), blocks", measured: driftAfterResync.driftBlocks, target: "0", result: verdict(driftAfterResync.driftBlocks === 0 && driftAfterResync.inSync) },
      { criterion: `d TTFT p99 last / first window (${ttftFirst.p99Ms} → ${ttftLast.p99Ms} ms)`, measured: Number(ttftDrift.toFixed(3)), target: `<= ${TARGET_TTFT_P99_DRIFT_MAX}`, result: verdict(ttftDrift <= TARGET_TTFT_P99_DRIFT_MAX) },
      { criterion: `e unexpected errors (of ${outcomes.requests} requests)`, measured: outcomes.unexpectedErrors, target: "0", result: verdict(outcomes.unexpectedErrors === 0) },
    ];
    const routerMemory = memory.find((m) => m.id === "router");
    return {
      name: "soak",
      config: { ...settings, tenants: TENANTS.map((t) => t.name), policy: "kv_aware", faultPeriodS: Math.min(settings.faultEveryS, (durationMs / 3) / 1000) },
      rows,
      ratios: { ttft_p99_last_over_first: ttftDrift, ...(routerMemory?.rssGrowth == null ? {} : { router_rss_last_over_first: 1 + routerMemory.rssGrowth }) },
      details: {
        criteria: {
          leakedBlocks: { pass: leaked === 0, ...quiet },
          memoryGrowth: { pass: memory.every((m) => m.rssGrowth === null || m.rssGrowth < TARGET_MEMORY_GROWTH_MAX), target: TARGET_MEMORY_GROWTH_MAX, firstWindowS: [first.startMs - startMs, first.endMs - startMs].map((ms) => Math.round(ms / 1000)), lastWindowS: [last.startMs - startMs, last.endMs - startMs].map((ms) => Math.round(ms / 1000)), processes: memory, heap: "not sampled: /metrics registers no prom-client default metrics (nodejs_heap_size_used_bytes, process_resident_memory_bytes); rssAnon is the anonymous part of RSS (V8 heap + native)" },
          indexDrift: { pass: drift.driftBlocks === 0 && drift.inSync && driftAfterResync.driftBlocks === 0 && driftAfterResync.inSync, soakRouter: drift, observerAfterResync: driftAfterResync },
          ttftP99Drift: { pass: ttftDrift <= TARGET_TTFT_P99_DRIFT_MAX, target: TARGET_TTFT_P99_DRIFT_MAX, first: ttftFirst, last: ttftLast, ratio: ttftDrift },
          outcomes: { pass: outcomes.unexpectedErrors === 0, ...outcomes, byKind: Object.fromEntries(["grpc-stream", "grpc-unary", "http-stream", "http-unary"].map((kind) => [kind, countOutcomes(traffic.records.filter((r) => r.kind === kind), faults.records)])), errors: errorMessages(traffic.records, faults.records), router: counters },
        },
        faults: faults.records.map((f) => ({ ...f, startS: Math.round((f.startMs - startMs) / 100) / 10, endS: Math.round((f.endMs - startMs) / 100) / 10 })),
        prefixHitRate: (() => {
          const ok = traffic.records.filter((r) => r.outcome === "ok");
          const prompt = ok.length * (settings.prefixTokens + settings.questionTokens);
          return prompt === 0 ? 0 : Number((ok.reduce((sum, r) => sum + r.cachedPromptTokens, 0) / prompt).toFixed(3));
        })(),
        durationS: Math.round((trafficEndMs - startMs) / 1000),
        stoppedAfterMs,
        /** Warn and error lines, requests that ended in error, handovers: per process, the first KEPT_LOG_LINES. */
        logs: Object.fromEntries([...fleet.logs].filter(([, kept]) => kept.lines.length > 0)),
      },
    };
  } finally {
    await fleet.stop();
  }
}
