/**
 * tenant-isolation benchmark (issue 15, section 4): can one tenant learn from
 * its time to first token whether another tenant sent a prompt? Two tenants
 * (API keys) behind a real router, one sigma-tiny worker (so a shared cache
 * would be hit if the salts did not separate them), token-id prompts of
 * PROMPT_TOKENS. In each round, on a fresh random prompt P and a second fresh
 * prompt Q, in this order:
 *
 *   A sends P (cold)       → cold_a       tenant A's own first time
 *   A sends P again        → warm_a       a cache hit: what a leak would look like
 *   B sends P              → cross_b      the probe: B asks for A's prompt
 *   B sends Q              → cold_b       B's control: a prompt nobody sent
 *
 * Isolation holds when cross_b is a miss (cached tokens 0) and its TTFT is
 * indistinguishable from cold_b, while warm_a shows how different a hit is.
 * Medians over rounds with their spread, printed and written to
 * bench/results/tenant-isolation.json. Flags: --rounds N (default 15),
 * --prompt-tokens N (default 1500).
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchResult } from "../lib/bench-result.js";
import { startBenchCluster } from "../lib/cluster-processes.js";
import { median } from "../lib/median.js";
import { mulberry32 } from "../lib/mulberry32.js";

const MODEL = "sigma-tiny";
const KEYS = { a: "sk-isolation-tenant-a-0001", b: "sk-isolation-tenant-b-0002" };

interface Sample {
  ttftMs: number;
  cachedTokens: number;
}

/** One request's TTFT as the client sees it (first chunk), and the cached prompt tokens the finish reports. */
async function probe(client: SigmaserveClient, prompt: number[]): Promise<Sample> {
  const started = performance.now();
  let ttftMs = Number.NaN;
  let cachedTokens = Number.NaN;
  for await (const event of client.generate({ model: MODEL, prompt, maxTokens: 2, temperature: 0, ignoreEos: true })) {
    if (event.type === "chunk" && Number.isNaN(ttftMs)) ttftMs = performance.now() - started;
    if (event.type === "finish") cachedTokens = event.usage.cachedPromptTokens;
  }
  return { ttftMs, cachedTokens };
}


const round2 = (value: number) => Math.round(value * 100) / 100;

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args, options: { rounds: { type: "string", default: "15" }, "prompt-tokens": { type: "string", default: "1500" } } });
  const rounds = Number(values.rounds);
  const promptTokens = Number(values["prompt-tokens"]);
  const random = mulberry32(20261204);
  // Byte tokens 32..126 (printable), so every prompt is valid and unique.
  const freshPrompt = () => Array.from({ length: promptTokens }, () => 32 + Math.floor(random() * 95));

  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-isolation-"));
  const keysFile = join(dir, "keys.json");
  await writeFile(keysFile, JSON.stringify({ [KEYS.a]: "tenant-a", [KEYS.b]: "tenant-b" }));
  const cluster = await startBenchCluster({ workers: 1, policy: "kv_aware", routerFlags: ["--api-keys-file", keysFile] });
  const tenantA = createClient({ address: cluster.routerAddress, apiKey: KEYS.a, retry: { maxAttempts: 1 } });
  const tenantB = createClient({ address: cluster.routerAddress, apiKey: KEYS.b, retry: { maxAttempts: 1 } });
  const samples = { cold_a: [] as Sample[], warm_a: [] as Sample[], cross_b: [] as Sample[], cold_b: [] as Sample[] };
  try {
    for (let i = 0; i < 200 && ((await tenantA.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 50));
    // Warm-up: the first requests of a process are slower for reasons of their own (JIT, first allocations).
    for (let i = 0; i < 3; i++) await probe(tenantA, freshPrompt());
    for (let round = 0; round < rounds; round++) {
      const p = freshPrompt();
      samples.cold_a.push(await probe(tenantA, p));
      samples.warm_a.push(await probe(tenantA, p));
      samples.cross_b.push(await probe(tenantB, p));
      samples.cold_b.push(await probe(tenantB, freshPrompt()));
      process.stdout.write(`round ${round + 1}/${rounds}: cross_b ${round2(samples.cross_b.at(-1)!.ttftMs)} ms (cached ${samples.cross_b.at(-1)!.cachedTokens}), cold_b ${round2(samples.cold_b.at(-1)!.ttftMs)} ms, warm_a ${round2(samples.warm_a.at(-1)!.ttftMs)} ms\n`);
    }
  } finally {
    tenantA.close();
    tenantB.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const rows = Object.entries(samples).map(([kind, list]) => {
    const ttft = list.map((s) => s.ttftMs);
    return {
      kind,
      requests: list.length,
      ttft_p50_ms: round2(median(ttft)),
      ttft_min_ms: round2(Math.min(...ttft)),
      ttft_max_ms: round2(Math.max(...ttft)),
      cached_tokens_max: Math.max(...list.map((s) => s.cachedTokens)),
    };
  });
  // Per-round ratios, so the machine's drift over the run cancels within a round.
  const crossOverCold = samples.cross_b.map((s, i) => s.ttftMs / samples.cold_b[i]!.ttftMs);
  const warmOverCold = samples.warm_a.map((s, i) => s.ttftMs / samples.cold_a[i]!.ttftMs);
  rows.push({ kind: "cross_b / cold_b per round", requests: rounds, ttft_p50_ms: round2(median(crossOverCold)), ttft_min_ms: round2(Math.min(...crossOverCold)), ttft_max_ms: round2(Math.max(...crossOverCold)), cached_tokens_max: 0 });
  rows.push({ kind: "warm_a / cold_a per round", requests: rounds, ttft_p50_ms: round2(median(warmOverCold)), ttft_min_ms: round2(Math.min(...warmOverCold)), ttft_max_ms: round2(Math.max(...warmOverCold)), cached_tokens_max: 0 });
  return {
    name: "tenant-isolation",
    config: { rounds, promptTokens, model: MODEL, workers: 1, note: "ratio rows hold the per-round ratio's median, min and max in the ttft columns" },
    rows,
    ratios: {
      cross_b_over_cold_b_ttft_median: median(crossOverCold),
      warm_a_over_cold_a_ttft_median: median(warmOverCold),
      cross_b_cache_hits: samples.cross_b.filter((s) => s.cachedTokens > 0).length,
    },
  };
}
