/**
 * router-cost benchmark (issue 16 §5): what one request costs the router
 * itself, with the workers' cost taken out. The real router process
 * (apps/router) runs in front of a FAKE worker (fake-worker.ts: the worker's
 * Generate contract through the real adapter, 32 one-token chunks streamed at
 * once, no model) in a process of its own; the load generator is this process.
 * With `taskset`, the router is pinned to --router-core and the fake worker
 * and the load generator to --load-core, so "one router core" is one core.
 *
 * Variants in alternating rounds (warm-up round discarded, then at least
 * --rounds kept each):
 *  - paced_router: --rate req/s (open loop, evenly spaced) through the router.
 *    Figures: router CPU ms per request (the router process's CPU over the
 *    round / requests; its system share apart), router_ms p50/p99
 *    (Timings.router_ms as the router reports it: from the request's arrival
 *    in its handler to the call on the worker that answered, plus relaying
 *    the first token), client TTFT.
 *  - paced1_router: the same paced load at max_tokens 1 (one chunk and the
 *    finish), so the router's CPU per request splits into a fixed part and a
 *    part per relayed chunk: (paced − paced1) / (tokens − 1) per chunk.
 *  - paced_direct: the same paced load straight to the fake worker; the
 *    router's added TTFT is the through-router TTFT minus this (same run, the
 *    extra gRPC hop included).
 *  - paced_floor, closed_floor: the same loads through the FLOOR relay
 *    (floor-relay.ts, not a router): grpc-js passing bytes between one server
 *    call and one client call per request with nothing else, the least any
 *    router on grpc-js costs here.
 *  - closed_router: --concurrency clients back to back for --closed-seconds:
 *    the requests/s the router sustains on its one core against the fake
 *    worker, its CPU ms per request at saturation and its core's use.
 *  - with --baseline-router PATH (another build's apps/router/dist/main.js,
 *    e.g. of the commit before a change, with its own node_modules; --router
 *    PATH replaces this checkout's build as "router" likewise):
 *    paced_baseline and closed_baseline, the same loads through that build,
 *    a second router process beside the first, so before and after are
 *    measured in the same rounds under the same load.
 * The fake worker's CPU per request is reported too, for scale: a gRPC
 * server streaming the same messages with nothing to compute.
 * A round with a failed request is discarded, with the first error as reason.
 * Targets (issue 16 §5) are reported, never asserted: ≤1 ms router CPU per
 * request at 32 output tokens; router_ms p99 ≤1 ms at 50 req/s.
 */
import { alternatingRounds, discardedSummary, spreadText, type RoundStats } from "../lib/alternating-rounds.js";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { median } from "../lib/median.js";
import { percentile } from "../serve/percentiles.js";
import { FAKE_MODEL_ID } from "./fake-worker-ready.js";
import { routerClient, workerClient, type LightClient } from "./light-client.js";
import { closedLoad, pacedLoad, type LoadRun, type Shape } from "./loads.js";
import { canPin, pinSelf, ROUTER_ENTRY, startFakeWorker, startFloorRelay, startRouter, type BenchProcess } from "./processes.js";

export const TARGET_ROUTER_CPU_MS_PER_REQUEST = 1;
export const TARGET_ROUTER_MS_P99 = 1;

interface Settings {
  rounds: number;
  ratePerS: number;
  pacedSeconds: number;
  closedSeconds: number;
  concurrency: number;
  tokens: number;
  promptTokens: number;
  routerCore: number;
  loadCore: number;
  pin: boolean;
  seed: number;
  /** The router build measured as "router": this checkout's unless --router names another. */
  router: string;
  baselineRouter: string | undefined;
}

function parseSettings(args: string[]): Settings {
  const quick = args.includes("--quick");
  const text = (name: string) => {
    const at = args.indexOf(`--${name}`);
    return at < 0 ? undefined : args[at + 1];
  };
  const value = (name: string, fallback: number) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed)) throw new RangeError(`--${name} needs a number, got "${raw}"`);
    return parsed;
  };
  return {
    rounds: value("rounds", 5),
    ratePerS: value("rate", 50),
    pacedSeconds: value("paced-seconds", quick ? 2 : 8),
    closedSeconds: value("closed-seconds", quick ? 2 : 5),
    concurrency: value("concurrency", quick ? 32 : 64),
    tokens: value("tokens", 32),
    promptTokens: value("prompt-tokens", 128),
    routerCore: value("router-core", 1),
    loadCore: value("load-core", 0),
    pin: !args.includes("--no-pin"),
    seed: value("seed", 16),
    router: text("router") ?? ROUTER_ENTRY,
    baselineRouter: text("baseline-router"),
  };
}

/** What a load goes through: this checkout's router ("router"), the --baseline-router build, the floor relay, or nothing (straight to the fake worker). */
type Target = "router" | "baseline" | "floor" | "direct";
type Variant = `${"paced" | "paced1" | "closed"}_${Target}`;

/** Every figure of one round, by name. */
type Figures = Record<string, number>;

function figuresOf(variant: Variant, run: LoadRun): Figures {
  const ok = run.records.filter((r) => r.ok);
  const ttft = ok.map((r) => r.ttftMs);
  const figures: Figures = { requests: run.records.length, ttft_p50_ms: percentile(ttft, 50), ttft_p99_ms: percentile(ttft, 99), tokens_per_request: median(ok.map((r) => r.tokens)) };
  if (!variant.endsWith("_direct")) {
    figures["router_cpu_ms_per_request"] = run.routerCpuMs / run.records.length;
    figures["router_system_cpu_ms_per_request"] = run.routerSystemCpuMs / run.records.length;
  }
  // The fake worker's own cost, for scale: one gRPC server streaming the same messages, with nothing to compute.
  figures["fake_worker_cpu_ms_per_request"] = run.workerCpuMs / run.records.length;
  if (variant.startsWith("paced") && (variant.endsWith("_router") || variant.endsWith("_baseline"))) {
    const routerMs = ok.map((r) => r.routerMs);
    figures["router_ms_p50"] = percentile(routerMs, 50);
    figures["router_ms_p99"] = percentile(routerMs, 99);
  }
  if (variant.startsWith("closed_")) {
    figures["requests_per_s"] = ok.length / (run.wallMs / 1000);
    figures["router_core_use"] = run.routerCpuMs / run.wallMs;
  }
  return figures;
}

/** The figure a variant's rounds report to alternatingRounds. */
const primaryOf = (variant: Variant) => (variant.startsWith("closed_") ? "requests_per_s" : variant.endsWith("_router") || variant.endsWith("_baseline") ? "router_ms_p99" : "ttft_p99_ms");

function stats(values: number[]): RoundStats {
  return { values, median: median(values), best: Number.NaN, min: Math.min(...values), max: Math.max(...values), discarded: [] };
}

export async function run(args: string[]): Promise<BenchResult> {
  const settings = parseSettings(args);
  const shape: Shape = { promptTokens: settings.promptTokens, maxTokens: settings.tokens };
  const pinned = settings.pin && canPin();
  if (pinned && !pinSelf(settings.loadCore)) throw new Error(`could not pin the load generator to core ${settings.loadCore}`);
  const routerCore = pinned ? settings.routerCore : undefined;
  const processes: BenchProcess[] = [];
  const clients: LightClient[] = [];
  try {
    const worker = await startFakeWorker(settings.tokens, pinned ? settings.loadCore : undefined);
    processes.push(worker);
    const workerAddress = worker.ready["address"] as string;
    const routers = new Map<Target, { proc: BenchProcess; client: LightClient }>();
    const entries: [Target, string][] = [["router", settings.router], ...(settings.baselineRouter === undefined ? [] : [["baseline", settings.baselineRouter] as [Target, string]])];
    for (const [target, entry] of entries) {
      const proc = await startRouter(entry, workerAddress, routerCore, "info");
      processes.push(proc);
      const client = routerClient(proc.ready["grpc"] as string, FAKE_MODEL_ID);
      clients.push(client);
      routers.set(target, { proc, client });
      process.stdout.write(`router-cost: ${target} = real router ${entry} (pid ${proc.pid}${pinned ? `, core ${settings.routerCore}` : ", not pinned"})\n`);
    }
    const floor = await startFloorRelay(workerAddress, settings.tokens, routerCore);
    processes.push(floor);
    const floorClient = routerClient(floor.ready["grpc"] as string, FAKE_MODEL_ID);
    clients.push(floorClient);
    routers.set("floor", { proc: floor, client: floorClient });
    process.stdout.write(`router-cost: floor = FLOOR relay, not a router (bench/router-cost/floor-relay.ts; pid ${floor.pid}${pinned ? `, core ${settings.routerCore}` : ""}): grpc-js passing bytes, nothing else\n`);
    const direct = workerClient(workerAddress, FAKE_MODEL_ID);
    clients.push(direct);
    process.stdout.write(`router-cost: in front of a FAKE worker (pid ${worker.pid}, ${settings.tokens} one-token chunks at once); load generator${pinned ? ` and fake worker on core ${settings.loadCore}` : ""}\n`);

    const targets = [...routers.keys()];
    const variants: Variant[] = [...targets.map((t): Variant => `paced_${t}`), "paced1_router", "paced_direct", ...targets.map((t): Variant => `closed_${t}`)];
    const measured = new Map<Variant, { round: number; figures: Figures }[]>(variants.map((v) => [v, []]));
    const pacedRequests = Math.max(1, Math.round(settings.ratePerS * settings.pacedSeconds));
    const failures = new Map<string, string>();
    const rounds = await alternatingRounds<Variant>({
      variants,
      rounds: settings.rounds,
      measure: async (variant, round) => {
        const runId = `${variant}-${round}`;
        const target = variant.slice(variant.indexOf("_") + 1) as Target;
        const loadShape = variant.startsWith("paced1_") ? { ...shape, maxTokens: 1 } : shape;
        const via = routers.get(target);
        const pids = { worker: worker.pid, ...(via === undefined ? {} : { router: via.proc.pid }) };
        const load = variant.startsWith("closed_")
          ? await closedLoad(via!.client, loadShape, settings.concurrency, settings.closedSeconds, settings.seed + round, runId, pids)
          : await pacedLoad(via?.client ?? direct, loadShape, settings.ratePerS, pacedRequests, settings.seed + round, runId, pids);
        const figures = figuresOf(variant, load);
        const failed = load.records.filter((r) => !r.ok);
        if (failed.length > 0) failures.set(runId, `${failed.length} of ${load.records.length} requests failed (${failed[0]!.error})`);
        process.stdout.write(`  round ${round} ${variant}: ${Object.entries(figures).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(" ")}\n`);
        measured.get(variant)!.push({ round, figures });
        return figures[primaryOf(variant)]!;
      },
      discard: (variant, round) => failures.get(`${variant}-${round}`),
    });
    // Every measured round's figures, less the rounds alternatingRounds discarded (warm-up, failures).
    const keptFigures = (variant: Variant): Figures[] => {
      const dropped = new Set(rounds[variant].discarded.map((d) => d.round));
      return measured.get(variant)!.filter((m) => !dropped.has(m.round)).map((m) => m.figures);
    };
    const rows: Row[] = [];
    const medians: Record<string, number> = {};
    const add = (variant: Variant, figure: string, unit: string, better: "lower" | "higher", target?: string) => {
      const s = stats(keptFigures(variant).map((f) => f[figure]!));
      medians[`${variant}.${figure}`] = s.median;
      rows.push({ variant, figure, unit, median: s.median, best: better === "lower" ? s.min : s.max, min: s.min, max: s.max, spread: spreadText(s, 3), rounds: s.values.length, target: target ?? "" });
    };
    for (const t of targets) {
      add(`paced_${t}`, "router_cpu_ms_per_request", "ms", "lower", t === "floor" ? "" : `<= ${TARGET_ROUTER_CPU_MS_PER_REQUEST}`);
      add(`paced_${t}`, "router_system_cpu_ms_per_request", "ms", "lower");
      add(`paced_${t}`, "fake_worker_cpu_ms_per_request", "ms", "lower");
      if (t !== "floor") {
        add(`paced_${t}`, "router_ms_p50", "ms", "lower");
        add(`paced_${t}`, "router_ms_p99", "ms", "lower", `<= ${TARGET_ROUTER_MS_P99}`);
      }
      add(`paced_${t}`, "ttft_p50_ms", "ms", "lower");
      add(`paced_${t}`, "ttft_p99_ms", "ms", "lower");
    }
    add("paced1_router", "router_cpu_ms_per_request", "ms", "lower");
    add("paced1_router", "router_ms_p99", "ms", "lower");
    add("paced_direct", "ttft_p50_ms", "ms", "lower");
    add("paced_direct", "ttft_p99_ms", "ms", "lower");
    add("paced_direct", "fake_worker_cpu_ms_per_request", "ms", "lower");
    for (const t of targets) {
      add(`closed_${t}`, "requests_per_s", "req/s", "higher");
      add(`closed_${t}`, "router_cpu_ms_per_request", "ms", "lower");
      add(`closed_${t}`, "router_system_cpu_ms_per_request", "ms", "lower");
      add(`closed_${t}`, "fake_worker_cpu_ms_per_request", "ms", "lower");
      add(`closed_${t}`, "router_core_use", "cores", "higher");
    }
    for (const line of discardedSummary(rounds)) process.stdout.write(`discarded: ${line}\n`);
    const m = (key: string) => medians[key]!;
    const ratios: Record<string, number> = {
      router_cpu_ms_per_request_vs_target: m("paced_router.router_cpu_ms_per_request") / TARGET_ROUTER_CPU_MS_PER_REQUEST,
      router_ms_p99_vs_target: m("paced_router.router_ms_p99") / TARGET_ROUTER_MS_P99,
      ttft_p50_router_vs_direct: m("paced_router.ttft_p50_ms") / m("paced_direct.ttft_p50_ms"),
      ttft_p99_router_vs_direct: m("paced_router.ttft_p99_ms") / m("paced_direct.ttft_p99_ms"),
      router_added_ttft_p50_ms: m("paced_router.ttft_p50_ms") - m("paced_direct.ttft_p50_ms"),
      router_one_core_requests_per_s: m("closed_router.requests_per_s"),
      router_cpu_ms_per_chunk: (m("paced_router.router_cpu_ms_per_request") - m("paced1_router.router_cpu_ms_per_request")) / (settings.tokens - 1),
      router_cpu_ms_fixed_per_request: m("paced1_router.router_cpu_ms_per_request"),
      paced_cpu_per_request_router_vs_floor: m("paced_router.router_cpu_ms_per_request") / m("paced_floor.router_cpu_ms_per_request"),
      closed_cpu_per_request_router_vs_floor: m("closed_router.router_cpu_ms_per_request") / m("closed_floor.router_cpu_ms_per_request"),
      floor_one_core_requests_per_s: m("closed_floor.requests_per_s"),
    };
    if (routers.has("baseline")) {
      ratios["paced_cpu_per_request_router_vs_baseline"] = m("paced_router.router_cpu_ms_per_request") / m("paced_baseline.router_cpu_ms_per_request");
      ratios["closed_cpu_per_request_router_vs_baseline"] = m("closed_router.router_cpu_ms_per_request") / m("closed_baseline.router_cpu_ms_per_request");
      ratios["requests_per_s_router_vs_baseline"] = m("closed_router.requests_per_s") / m("closed_baseline.requests_per_s");
      ratios["router_ms_p99_router_vs_baseline"] = m("paced_router.router_ms_p99") / m("paced_baseline.router_ms_p99");
    }
    return {
      name: "router-cost",
      config: {
        ...settings,
        pinned,
        worker: "FAKE worker (bench/router-cost/fake-worker.ts): no model, chunks streamed at once",
        routers: Object.fromEntries(entries),
        floor: "FLOOR relay (bench/router-cost/floor-relay.ts), not a router: grpc-js passing bytes between one server call and one client call per request",
        routerMs: "Timings.router_ms: arrival in the router's handler → call on the answering worker, plus relaying the first token",
        routerLogLevel: "info (one access line per request)",
        discarded: discardedSummary(rounds),
      },
      rows,
      ratios,
    };
  } finally {
    for (const client of clients) client.close();
    for (const proc of processes.reverse()) await proc.stop();
  }
}
