/**
 * engine benchmark: sigma-tiny served by a real worker process over gRPC.
 *
 * 1. Throughput: greedy requests with ignore_eos (fixed output length) at
 *    concurrency 1, 4, 16 and 64, in alternating rounds (every concurrency
 *    once per round, the order reversed on odd rounds). A round of one
 *    concurrency is a closed loop of `--round-seconds`: each of the c clients
 *    sends a request of `--tokens` output tokens as soon as its last one ends;
 *    tokens arriving before the deadline count, and the calls still running at
 *    the deadline are cancelled. Aggregate generated tokens per second.
 * 2. Where a step's time goes: the worker's
 *    `sigmaserve_engine_step_phase_seconds_total{phase}` scraped around each
 *    round gives the share of the round's wall time per phase (dense ORT
 *    stages, attention, KV writes, sampling and handing chunks to streams,
 *    scheduling, the event-loop turn with gRPC I/O), and ms per step.
 * 3. Prefix caching: time to first token of a long prompt on a cold cache,
 *    then of a prompt that shares its prefix (served from the cache), in
 *    alternating rounds (a new prompt each round).
 * The load generator shares the machine's cores with the worker: its own CPU
 * per round is reported (client_cpu_share) so the figure can be read for what
 * it is. Ratios are ratios of medians from the same run.
 */
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { alternatingRounds, discardedSummary, withBest, type RoundStats } from "../lib/alternating-rounds.js";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { median } from "../lib/median.js";
import { processCpuMs } from "../lib/process-cpu.js";
import { scrapeMetrics, sumOf } from "../lib/prometheus-text.js";
import { startWorkerProcess } from "../lib/worker-process.js";

type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

const PROMPT_TOKENS = 32;
const LONG_PROMPT_TOKENS = 1024;
const PHASES = ["dense", "attention", "kv_write", "sample", "schedule", "io"] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  concurrencies: number[];
  rounds: number;
  roundSeconds: number;
  tokens: number;
  /** The worker's ORT intra-op threads (its --intra-op-threads). */
  intraOpThreads: number;
}

function parseOptions(args: string[]): Options {
  const quick = args.includes("--quick");
  const value = (flag: string, fallback: number) => {
    const at = args.indexOf(flag);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const concurrencies = args.includes("--concurrency") ? args[args.indexOf("--concurrency") + 1]!.split(",").map(Number) : [1, 4, 16, 64];
  return { concurrencies, rounds: value("--rounds", quick ? 5 : 7), roundSeconds: value("--round-seconds", quick ? 0.4 : 2), tokens: value("--tokens", quick ? 32 : 128), intraOpThreads: value("--intra-op-threads", 1) };
}

const prompt = (seed: number, length: number) => Array.from({ length }, (_, i) => (seed * 7919 + i * 31) % 256);

async function generate(client: WorkerClient, id: string, promptIds: number[], maxTokens: number, onToken: (n: number) => void, signal?: AbortSignal) {
  const start = performance.now();
  let firstTokenMs: number | undefined;
  let serverTtftMs = 0;
  let cached = 0;
  for await (const message of client.generate({ requestId: id, model: "sigma-tiny", promptTokenIds: promptIds, sampling: { temperature: 0, maxTokens, ignoreEos: true } }, signal === undefined ? {} : { signal })) {
    if (message.event.case === "chunk") {
      firstTokenMs ??= performance.now() - start;
      onToken(message.event.value.tokenIds.length);
    } else if (message.event.case === "finish") {
      serverTtftMs = message.event.value.timings!.ttftMs;
      cached = message.event.value.usage!.cachedPromptTokens;
    }
  }
  return { clientTtftMs: firstTokenMs ?? 0, serverTtftMs, cached };
}

/**
 * One closed-loop round at `concurrency`: tokens/s over a window of `roundSeconds` that opens once every
 * client has its first token (so the prefill ramp of the round's first requests is outside it), and the
 * phase seconds the worker spent in that window.
 */
async function throughputRound(client: WorkerClient, worker: { metricsAddress: string; pid: number }, concurrency: number, options: Options, tag: string) {
  const metricsAddress = worker.metricsAddress;
  const abort = new AbortController();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let tokens = 0;
  let requests = 0;
  let started = 0;
  let phasesBefore: Promise<Record<Phase, number>> | undefined;
  let phasesAfter: Promise<Record<Phase, number>> | undefined;
  let cpuBefore: NodeJS.CpuUsage | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  let workerCpuMs = 0;
  const openWindow = () => {
    windowStart = performance.now();
    windowEnd = windowStart + options.roundSeconds * 1000;
    cpuBefore = process.cpuUsage();
    workerCpuMs = -processCpuMs(worker.pid);
    phasesBefore = phaseSeconds(metricsAddress);
    setTimeout(() => {
      cpu = process.cpuUsage(cpuBefore);
      workerCpuMs += processCpuMs(worker.pid);
      phasesAfter = phaseSeconds(metricsAddress);
      abort.abort(new Error("the round is over"));
    }, options.roundSeconds * 1000);
  };
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      let first = true;
      for (let r = 0; !abort.signal.aborted; r++) {
        try {
          await generate(client, `${tag}-${c}-${r}`, prompt(c * 1000 + r, PROMPT_TOKENS), options.tokens, (n) => {
            if (first) {
              first = false;
              if (++started === concurrency) openWindow();
            }
            const now = performance.now();
            if (now >= windowStart && now <= windowEnd) tokens += n;
          }, abort.signal);
          if (performance.now() <= windowEnd) requests++;
        } catch (err) {
          if (!abort.signal.aborted) throw err;
        }
      }
    }),
  );
  const [before, after] = await Promise.all([phasesBefore!, phasesAfter!]);
  const phases = Object.fromEntries(PHASES.map((p) => [p, after[p] - before[p]])) as Record<Phase, number>;
  return { tokensPerS: tokens / options.roundSeconds, tokens, requests, phases, workerCpuMs, clientCpuShare: (cpu!.user + cpu!.system) / 1e6 / options.roundSeconds };
}

async function phaseSeconds(metricsAddress: string): Promise<Record<Phase, number>> {
  const samples = await scrapeMetrics(metricsAddress);
  return Object.fromEntries(PHASES.map((phase) => [phase, sumOf(samples, "sigmaserve_engine_step_phase_seconds_total", { phase })])) as Record<Phase, number>;
}

export async function run(args: string[] = []): Promise<BenchResult> {
  const options = parseOptions(args);
  const flags = ["--preset", "sigma-tiny", "--port", "0", "--metrics-port", "0", "--kv-device-mib", "512", "--max-batch-tokens", "2048", "--max-num-seqs", "64", "--intra-op-threads", String(options.intraOpThreads)];
  const worker = await startWorkerProcess(flags);
  if (worker.metricsAddress === undefined) throw new Error("the worker did not report its metrics address");
  const metricsAddress = worker.metricsAddress;
  const client = createGrpcClient(workerv1.WorkerService, worker.address);
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const notes: string[] = [];
  try {
    const workerCpuBefore = processCpuMs(worker.pid);
    const variants = options.concurrencies.map((c) => `c${c}`);
    const perRound = new Map<string, Awaited<ReturnType<typeof throughputRound>>[]>(variants.map((v) => [v, []]));
    const stats = await alternatingRounds({
      variants,
      rounds: options.rounds,
      warmupRounds: 1,
      measure: async (variant, round) => {
        const result = await throughputRound(client, { metricsAddress, pid: worker.pid }, Number(variant.slice(1)), options, `${variant}-r${round}`);
        if (round >= 1) perRound.get(variant)!.push(result);
        return result.tokensPerS;
      },
    });
    const workerCpuMs = processCpuMs(worker.pid) - workerCpuBefore;
    notes.push(...discardedSummary(stats));
    for (const variant of variants) {
      const s = withBest(stats[variant]!, "higher");
      const results = perRound.get(variant)!;
      const concurrency = Number(variant.slice(1));
      const phaseMedian = (phase: Phase) => median(results.map((r) => r.phases[phase]));
      const phaseTotal = PHASES.reduce((sum, p) => sum + phaseMedian(p), 0);
      const tokensPerStep = concurrency;
      const stepsPerS = s.median / tokensPerStep;
      rows.push({
        part: "throughput",
        concurrency,
        tokens_per_s: Math.round(s.median),
        best: Math.round(s.best),
        spread: `${Math.round(s.min)}..${Math.round(s.max)}`,
        requests_per_round: median(results.map((r) => r.requests)),
        // Each phase's share of the round's wall time, and ms per decode step (steps/s ≈ tokens/s ÷ concurrency).
        ...Object.fromEntries(PHASES.map((p) => [`${p}_share`, Math.round((phaseMedian(p) / options.roundSeconds) * 1000) / 1000])),
        ms_per_step: Math.round((phaseTotal / options.roundSeconds / stepsPerS) * 1e5) / 100,
        // The worker's own CPU (all its threads) per generated token: what a core of its own would give, whatever the load.
        worker_cpu_ms_per_token: Math.round(median(results.map((r) => r.workerCpuMs / Math.max(1, r.tokens))) * 1000) / 1000,
        client_cpu_share: Math.round(median(results.map((r) => r.clientCpuShare)) * 100) / 100,
      });
    }
    const cpuPerToken = (variant: string) => median(perRound.get(variant)!.map((r) => r.workerCpuMs / Math.max(1, r.tokens)));
    const c1 = stats["c1"];
    if (c1 !== undefined) {
      for (const variant of variants.filter((v) => v !== "c1")) {
        ratios[`tokens_per_s_${variant}_vs_c1`] = stats[variant]!.median / c1.median;
        ratios[`tokens_per_s_${variant}_vs_c1_best`] = withBest(stats[variant]!, "higher").best / withBest(c1, "higher").best;
        // Tokens per worker-CPU-second against one stream: the batching gain with the machine's load taken out.
        ratios[`tokens_per_cpu_s_${variant}_vs_c1`] = cpuPerToken("c1") / cpuPerToken(variant);
      }
    }

    // Prefix caching: a new long prompt per round (cold), then the same prefix plus three tokens (hit).
    const ttft = new Map<string, { client: number; server: number; cached: number }[]>([["cold", []], ["hit", []]]);
    let long: number[] = [];
    const ttftStats: Record<string, RoundStats> = await alternatingRounds({
      variants: ["cold", "hit"],
      rounds: options.rounds,
      warmupRounds: 1,
      alternateOrder: false, // the hit needs its cold prompt first
      measure: async (variant, round) => {
        if (variant === "cold") long = prompt(4242 + round, LONG_PROMPT_TOKENS);
        const ids = variant === "cold" ? long : [...long, 1, 2, 3];
        const result = await generate(client, `${variant}-${round}`, ids, 1, () => {});
        ttft.get(variant)!.push({ client: result.clientTtftMs, server: result.serverTtftMs, cached: result.cached });
        return result.clientTtftMs;
      },
    });
    notes.push(...discardedSummary(ttftStats));
    for (const variant of ["cold", "hit"] as const) {
      const s = withBest(ttftStats[variant]!, "lower");
      const kept = ttft.get(variant)!.slice(1);
      rows.push({
        part: `ttft ${variant === "cold" ? "cold" : "prefix hit"}`,
        prompt_tokens: LONG_PROMPT_TOKENS + (variant === "hit" ? 3 : 0),
        cached_tokens: median(kept.map((k) => k.cached)),
        client_ttft_ms: Math.round(s.median * 100) / 100,
        best: Math.round(s.best * 100) / 100,
        spread: `${s.min.toFixed(2)}..${s.max.toFixed(2)}`,
        server_ttft_ms: Math.round(median(kept.map((k) => k.server)) * 100) / 100,
      });
    }
    ratios["ttft_cold_vs_prefix_hit"] = ttftStats["cold"]!.median / ttftStats["hit"]!.median;
    notes.push(`worker CPU over the throughput rounds: ${Math.round(workerCpuMs)} ms`);
  } finally {
    client.close();
    await worker.stop();
  }
  for (const note of notes) process.stdout.write(`${note}\n`);
  return {
    name: "engine",
    config: { preset: "sigma-tiny", workerFlags: flags, promptTokens: PROMPT_TOKENS, outputTokens: options.tokens, roundSeconds: options.roundSeconds, rounds: options.rounds, greedy: true, loadGenerator: "in the bench process, sharing the machine's cores with the worker" },
    rows,
    ratios,
    details: { notes },
  };
}
