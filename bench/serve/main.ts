/**
 * serve benchmark: a load generator against a real local cluster (nats-server,
 * sigma-tiny worker processes, the router) on a shared-prefix workload:
 * tenants × a 512-token prefix × 32-token questions, token-id prompts,
 * max_tokens 16, temperature 0, ignore_eos.
 *
 * Side by side in one run, every configuration on a fresh cluster (cold
 * caches) and on the same seeded requests and arrival times:
 *  (a) kv_aware against round_robin, 3 workers behind the router, at a Poisson
 *      rate (open loop) and at a fixed concurrency (closed loop), for the
 *      issue's 4 tenants and for 12 tenants under cache pressure;
 *  (b) the router against direct-to-worker: one worker, the same Poisson load
 *      through a 1-worker router and straight to the worker's gRPC
 *      service, in alternating rounds.
 * Targets are reported, never asserted. Flags: see settings.ts.
 */
import type { BenchResult, Row } from "../lib/bench-result.js";
import { presetConfig } from "@sigmaserve/model/config";
import { demoModel, saveModelDir } from "@sigmaserve/model/weights";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { compareTracing } from "./tracing-overhead.js";
import { measure, type ClusterConfig, type Load, type Measurement } from "./measure.js";
import { SLO_MEAN_ITL_MS, SLO_TTFT_MS, percentile, sum, summarize, type RunSummary } from "./percentiles.js";
import {
  TARGET_KV_AWARE_HIT_RATE_RATIO_MIN,
  TARGET_KV_AWARE_MEAN_TTFT_RATIO_MAX,
  TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS,
  parseSettings,
  type Settings,
} from "./settings.js";
import { MODEL } from "./targets.js";
import { buildWorkload, poissonArrivalsMs } from "./workload.js";

const POLICY_WORKERS = 3;
const round2 = (value: number) => Math.round(value * 100) / 100;
/** a / b, or NaN (written as null) when either side has no completed request to measure. */
const ratioOf = (a: number, b: number, ...runs: RunSummary[]) => (runs.some((r) => r.ok === 0) || b === 0 ? Number.NaN : a / b);

function row(part: string, config: string, load: string, s: RunSummary): Row {
  return {
    part,
    config,
    load,
    req: s.requests,
    ok: s.ok,
    ttft_p50: round2(s.ttft.p50),
    ttft_p90: round2(s.ttft.p90),
    ttft_p99: round2(s.ttft.p99),
    ttft_mean: round2(s.ttft.mean),
    itl_p50: round2(s.itl.p50),
    itl_p90: round2(s.itl.p90),
    itl_p99: round2(s.itl.p99),
    e2e_p50: round2(s.e2e.p50),
    e2e_p90: round2(s.e2e.p90),
    e2e_p99: round2(s.e2e.p99),
    out_tok_s: Math.round(s.outputTokensPerS),
    req_s: round2(s.requestsPerS),
    goodput_req_s: round2(s.goodputRequestsPerS),
    goodput: round2(s.goodputRatio),
    reject: round2(s.rejectionRate),
    errors: round2(s.errorRate),
    hit_rate: round2(s.prefixHitRate),
  };
}

interface PolicyWorkload {
  /** Ratio-name suffix: "" for the workload. */
  suffix: string;
  part: string;
  tenants: number;
  kvDeviceMib: number;
}

/** kv_aware then round_robin, open loop then closed loop, on one workload. */
async function comparePolicies(settings: Settings, spec: PolicyWorkload, rows: Row[], ratios: Record<string, number>): Promise<void> {
  const shape = { tenants: spec.tenants, prefixTokens: settings.prefixTokens, questionTokens: settings.questionTokens, maxTokens: settings.maxTokens, seed: settings.seed };
  const cluster = (policy: string): ClusterConfig => ({ workers: POLICY_WORKERS, policy, kvDeviceMib: spec.kvDeviceMib, direct: false });
  const options = { seed: settings.seed, timeoutMs: settings.timeoutMs };
  const loads: { label: string; suffix: string; requests: number; load: Load }[] = [
    { label: `poisson ${settings.policyRate}/s`, suffix: "", requests: settings.policyRequests, load: { mode: "poisson", ratePerS: settings.policyRate, arrivalsMs: poissonArrivalsMs(settings.policyRequests, settings.policyRate, settings.seed) } },
    { label: `closed c=${settings.concurrency}`, suffix: `_c${settings.concurrency}`, requests: settings.closedRequests, load: { mode: "closed", concurrency: settings.concurrency, maxSeconds: settings.closedMaxSeconds } },
  ];
  for (const { label, suffix, requests, load } of loads) {
    const workload = buildWorkload({ ...shape, requests });
    const kvAware = summarize([(await measure(`${spec.part} kv_aware ${label}`, cluster("kv_aware"), workload, load, options)).records]);
    const roundRobin = summarize([(await measure(`${spec.part} round_robin ${label}`, cluster("round_robin"), workload, load, options)).records]);
    rows.push(row(spec.part, "kv_aware", label, kvAware), row(spec.part, "round_robin", label, roundRobin));
    ratios[`prefix_hit_rate_kv_aware_vs_round_robin${spec.suffix}${suffix}`] = ratioOf(kvAware.prefixHitRate, roundRobin.prefixHitRate, kvAware, roundRobin);
    ratios[`mean_ttft_kv_aware_vs_round_robin${spec.suffix}${suffix}`] = ratioOf(kvAware.ttft.mean, roundRobin.ttft.mean, kvAware, roundRobin);
  }
}

/**
 * The same Poisson load on one worker, direct and through the router, alternating which goes first. Each run
 * first sends warm-up requests through the path under test (so its code is JIT-optimized) and starts with the
 * tenants' prefixes cached (a cold 512-token prefill at the start would otherwise be the p99 of
 * both sides). Beside the end-to-end difference it reports what the router says it added to each request's
 * TTFT (Timings.router_ms) and the CPU each process spent per request.
 */
async function compareRouterToDirect(settings: Settings, rows: Row[], ratios: Record<string, number>): Promise<{ sendLagMs: number[]; routerVsDirect: Record<string, unknown> }> {
  const workload = buildWorkload({ tenants: settings.tenants, prefixTokens: settings.prefixTokens, questionTokens: settings.questionTokens, maxTokens: settings.maxTokens, seed: settings.seed, requests: settings.directRequests });
  const load: Load = { mode: "poisson", ratePerS: settings.directRate, arrivalsMs: poissonArrivalsMs(settings.directRequests, settings.directRate, settings.seed) };
  const label = `poisson ${settings.directRate}/s`;
  const modelDir = await workerModelDir(settings.directWorkerLayers);
  const runs = { direct: [] as Measurement[], router: [] as Measurement[] };
  try {
    for (let round = 0; round < settings.directRounds; round++) {
      for (const direct of round % 2 === 0 ? [true, false] : [false, true]) {
        const name = direct ? "direct" : "router";
        const cluster: ClusterConfig = { workers: 1, policy: "kv_aware", kvDeviceMib: settings.directKvDeviceMib, direct, warmPrefixes: true, warmupRequests: { count: settings.directWarmupRequests, ratePerS: settings.directRate }, ...(modelDir === undefined ? {} : { modelDir }) };
        runs[name].push(await measure(`router cost ${name} ${label} round ${round + 1}`, cluster, workload, load, { seed: settings.seed, timeoutMs: settings.timeoutMs }));
      }
    }
  } finally {
    if (modelDir !== undefined) await rm(dirname(modelDir), { recursive: true, force: true });
  }
  const records = (name: keyof typeof runs) => runs[name].map((m) => m.records);
  const direct = summarize(records("direct"));
  const routed = summarize(records("router"));
  rows.push(row("router cost", "direct", label, direct), row("router cost", "router", label, routed));
  ratios["router_added_ttft_p50_ms"] = routed.ttft.p50 - direct.ttft.p50;
  ratios["router_added_ttft_p99_ms"] = routed.ttft.p99 - direct.ttft.p99;
  ratios["ttft_p99_router_vs_direct"] = ratioOf(routed.ttft.p99, direct.ttft.p99, routed, direct);
  ratios["router_added_e2e_p50_ms"] = routed.e2e.p50 - direct.e2e.p50;
  // What the router says it added to each request (its handler to the worker call, plus relaying the first token).
  const routerMs = records("router").flat().flatMap((r) => (r.outcome === "ok" && r.routerMs !== undefined ? [r.routerMs] : []));
  ratios["router_own_ttft_p50_ms"] = percentile(routerMs, 50);
  ratios["router_own_ttft_p99_ms"] = percentile(routerMs, 99);
  // CPU per request, and how busy the worker was (1 = one core all the time).
  const perRequest = (name: keyof typeof runs, pick: (m: Measurement) => number) => sum(runs[name].map(pick)) / sum(runs[name].map((m) => m.records.length));
  const busy = (name: keyof typeof runs) => sum(runs[name].map((m) => m.cpuMs.workers)) / sum(runs[name].map((m) => m.wallMs));
  ratios["router_cpu_ms_per_request"] = perRequest("router", (m) => m.cpuMs.router);
  ratios["worker_cpu_ms_per_request"] = perRequest("direct", (m) => m.cpuMs.workers);
  ratios["worker_busy_cores_direct"] = busy("direct");
  ratios["worker_busy_cores_router"] = busy("router");
  // The noise floor: how far rounds of the SAME configuration land apart (0 with one round).
  const spread = (pick: (s: RunSummary) => number) => {
    const spreads = (["direct", "router"] as const).map((name) => {
      const values = records(name).map((r) => pick(summarize([r])));
      return Math.max(...values) - Math.min(...values);
    });
    return Math.max(...spreads);
  };
  ratios["router_cost_round_spread_ttft_p50_ms"] = spread((s) => s.ttft.p50);
  ratios["router_cost_round_spread_ttft_p99_ms"] = spread((s) => s.ttft.p99);
  return {
    sendLagMs: [...records("direct"), ...records("router")].flat().map((r) => r.sendLagMs),
    routerVsDirect: { workerLayers: settings.directWorkerLayers, prefixesWarmedBeforeLoad: true, warmupRequestsThroughThePath: settings.directWarmupRequests },
  };
}

/** A sigma-tiny model directory with `layers` layers (named sigma-tiny, the id the load asks for); undefined for the preset's own 4. */
async function workerModelDir(layers: number): Promise<string | undefined> {
  if (layers === presetConfig(MODEL).num_hidden_layers) return undefined;
  const dir = join(await mkdtemp(join(tmpdir(), "sigmaserve-bench-model-")), MODEL);
  const model = demoModel(MODEL, 0, { numHiddenLayers: layers });
  await saveModelDir(dir, { config: model.config, weights: model.weights, dtype: "f32", metadata: { preset: MODEL, seed: "0" } });
  return dir;
}

const PARTS = ["policies", "router", "tracing"] as const;
type Part = (typeof PARTS)[number];

/** `--parts policies,router,tracing` (the default: policies and router) picks the comparisons to run; the other flags go to parseSettings. */
function parseParts(args: string[]): { parts: Set<Part>; rest: string[] } {
  const at = args.indexOf("--parts");
  // tracing is asked for by name: it adds two cluster rounds per comparison.
  if (at === -1) return { parts: new Set(["policies", "router"]), rest: args };
  const names = (args[at + 1] ?? "").split(",").filter((name) => name !== "");
  const unknown = names.filter((name) => !(PARTS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--parts: give a comma-separated list of ${PARTS.join(", ")}; got ${JSON.stringify(args[at + 1] ?? "")}`);
  return { parts: new Set(names as Part[]), rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

function printTargets(settings: Settings, ratios: Record<string, number>, pressureSuffix: string, parts: ReadonlySet<Part>): void {
  const verdict = (ok: boolean, value: number) => (Number.isNaN(value) ? "no data (a run completed no request)" : ok ? "met" : "NOT met");
  const lines = ["targets (reported, not asserted):"];
  for (const [suffix, name] of parts.has("policies") ? ([["", `${settings.tenants} tenants`], [pressureSuffix, `${settings.pressureTenants} tenants`]] as const) : []) {
    const hits = ratios[`prefix_hit_rate_kv_aware_vs_round_robin${suffix}`]!;
    const ttft = ratios[`mean_ttft_kv_aware_vs_round_robin${suffix}`]!;
    lines.push(`  ${name}, poisson: kv_aware prefix hit rate ${hits.toFixed(2)}x round_robin (target >= ${TARGET_KV_AWARE_HIT_RATE_RATIO_MIN}x): ${verdict(hits >= TARGET_KV_AWARE_HIT_RATE_RATIO_MIN, hits)}`);
    lines.push(`  ${name}, poisson: kv_aware mean TTFT ${ttft.toFixed(2)}x round_robin (target <= ${TARGET_KV_AWARE_MEAN_TTFT_RATIO_MAX}x): ${verdict(ttft <= TARGET_KV_AWARE_MEAN_TTFT_RATIO_MAX, ttft)}`);
  }
  if (!parts.has("router")) return void process.stdout.write(`${lines.join("\n")}\n\n`);
  const added = ratios["router_added_ttft_p99_ms"]!;
  const noise = ratios["router_cost_round_spread_ttft_p99_ms"]!;
  const own = ratios["router_own_ttft_p99_ms"]!;
  lines.push(
    `  router adds ${added.toFixed(2)} ms to p99 TTFT at ${settings.directRate} req/s (target <= ${TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS} ms): ${verdict(added <= TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS, added)}` +
      (Math.abs(added) < noise ? `, but within noise: rounds of one configuration differ by ${noise.toFixed(1)} ms at p99` : ""),
  );
  lines.push(`  router adds ${ratios["router_added_ttft_p50_ms"]!.toFixed(2)} ms to p50 TTFT (rounds of one configuration differ by ${ratios["router_cost_round_spread_ttft_p50_ms"]!.toFixed(1)} ms at p50)`);
  lines.push(`  the router's own share of TTFT (router_ms): p50 ${ratios["router_own_ttft_p50_ms"]!.toFixed(2)} ms, p99 ${own.toFixed(2)} ms (target <= ${TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS} ms): ${verdict(own <= TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS, own)}`);
  lines.push(
    `  CPU per request: router ${ratios["router_cpu_ms_per_request"]!.toFixed(2)} ms, worker ${ratios["worker_cpu_ms_per_request"]!.toFixed(2)} ms; the worker kept ${ratios["worker_busy_cores_direct"]!.toFixed(2)} cores busy direct, ${ratios["worker_busy_cores_router"]!.toFixed(2)} through the router`,
  );
  process.stdout.write(`${lines.join("\n")}\n\n`);
}

export async function run(args: string[]): Promise<BenchResult> {
  const { parts, rest } = parseParts(args);
  const settings = parseSettings(rest);
  const startedMs = performance.now();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const pressureSuffix = `_${settings.pressureTenants}_tenants`;
  if (parts.has("policies")) {
    await comparePolicies(settings, { suffix: "", part: `${settings.tenants} tenants`, tenants: settings.tenants, kvDeviceMib: settings.kvDeviceMib }, rows, ratios);
    await comparePolicies(settings, { suffix: pressureSuffix, part: `${settings.pressureTenants} tenants`, tenants: settings.pressureTenants, kvDeviceMib: settings.pressureKvDeviceMib }, rows, ratios);
  }
  const { sendLagMs, routerVsDirect } = parts.has("router") ? await compareRouterToDirect(settings, rows, ratios) : { sendLagMs: [0], routerVsDirect: {} };
  if (parts.has("tracing")) {
    const modelDir = await workerModelDir(settings.directWorkerLayers);
    try {
      await compareTracing(settings, rows, ratios, row, modelDir);
    } finally {
      if (modelDir !== undefined) await rm(dirname(modelDir), { recursive: true, force: true });
    }
  }
  printTargets(settings, ratios, pressureSuffix, parts);

  return {
    name: "serve",
    config: {
      model: MODEL,
      workload: { prefixTokens: settings.prefixTokens, questionTokens: settings.questionTokens, maxTokens: settings.maxTokens, temperature: 0, ignoreEos: true, seed: settings.seed, promptKind: "token ids (bytes 0-255)" },
      policyComparison: {
        workers: POLICY_WORKERS,
        workloads: [
          { tenants: settings.tenants, kvDeviceMibPerWorker: settings.kvDeviceMib },
          { tenants: settings.pressureTenants, kvDeviceMibPerWorker: settings.pressureKvDeviceMib },
        ],
        poisson: { ratePerS: settings.policyRate, requests: settings.policyRequests },
        closedLoop: { concurrency: settings.concurrency, requests: settings.closedRequests, maxSeconds: settings.closedMaxSeconds },
      },
      routerVsDirect: {
        workers: 1,
        tenants: settings.tenants,
        kvDeviceMib: settings.directKvDeviceMib,
        poisson: { ratePerS: settings.directRate, requestsPerRound: settings.directRequests, rounds: settings.directRounds },
        routerClient: "inferencev1.InferenceService via createGrpcClient",
        directClient: "workerv1.WorkerService via createGrpcClient",
        ...routerVsDirect,
        sendLagMs: { p50: round2(percentile(sendLagMs, 50)), p99: round2(percentile(sendLagMs, 99)), max: round2(Math.max(...sendLagMs)) },
      },
      requestTimeoutMs: settings.timeoutMs,
      slo: { ttftMs: SLO_TTFT_MS, meanItlMs: SLO_MEAN_ITL_MS },
      targets: { kvAwareHitRateRatioMin: TARGET_KV_AWARE_HIT_RATE_RATIO_MIN, kvAwareMeanTtftRatioMax: TARGET_KV_AWARE_MEAN_TTFT_RATIO_MAX, routerAddedTtftP99MaxMs: TARGET_ROUTER_ADDED_TTFT_P99_MAX_MS },
      freshClusterPerConfiguration: true,
      latencyClock: "client-observed (performance.now); open loop from each request's scheduled arrival",
      wallSeconds: Math.round((performance.now() - startedMs) / 1000),
    },
    rows,
    ratios,
  };
}
