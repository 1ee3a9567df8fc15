/**
 * peer benchmark (issue 16 §4): us against a real peer on the same weights.
 *
 * The llama-tiny preset (a plain Llama: 8 Q / 2 KV heads, no augmented Q) is
 * written into a temp dir as a Hugging Face checkpoint (Llama config.json,
 * model.safetensors, the tiny byte-level BPE tokenizer.json) plus
 * onnx/model.onnx, the same weights as one graph with past_key_values in
 * Optimum's layout. transformers.js 4.3.1 loads the dir (AutoTokenizer +
 * AutoModelForCausalLM, fp32, cpu); our worker process serves the same dir,
 * with f32 KV pools (`--kv-dtype`; the peer's past_key_values are f32 too).
 *
 * 1. Tokenizers: each side encodes the same texts; the ids must agree.
 * 2. Identity: greedy, EOS ignored, `--max-tokens` new tokens per prompt, each
 *    prompt alone and all `--streams` together (the peer's batched generate;
 *    our concurrent streams). Every sequence must equal our 1-stream one,
 *    token for token; any difference fails the bench, loudly, before timing.
 * 3. Speed: tokens/s (new tokens / wall time, prefill included) at 1 stream
 *    (`--single-prompts` prompts one after another) and at `--streams`, in
 *    alternating rounds of the four variants (one warm-up, `--rounds` kept
 *    each); ratios are ours / peer of the medians. Both sides get the same ORT
 *    intra-op threads (`--threads`, default 1) and one inter-op thread, ORT's
 *    defaults otherwise. Our worker's native attention kernel has its own
 *    threads (availableParallelism(), 2 here), used between ORT stages; the
 *    peer runs in this process, ours in the worker process plus this
 *    process's gRPC client. The tokens of every timed round are checked again.
 *
 * Targets (≥1.5× at 1 stream, ≥10× at 16) are reported, never asserted.
 */
import { parameterCount } from "@sigmaserve/model/config";
import { writeHfLlamaOnnx } from "@sigmaserve/model/runtime";
import { loadTokenizer } from "@sigmaserve/model/tokenizer";
import { writeTinyHfLlamaDir } from "@sigmaserve/model/weights";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { alternatingRounds, discardedSummary, spreadText, withBest, type RoundStats } from "../lib/alternating-rounds.js";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { processCpuMs } from "../lib/process-cpu.js";
import { compareSequences, type SequenceCheck } from "./compare-sequences.js";
import { startOurWorker, type OurWorker } from "./our-worker.js";
import { promptTexts } from "./prompts.js";
import { TARGET_RATIO_16_STREAMS, TARGET_RATIO_1_STREAM, parseSettings, type PeerSettings } from "./settings.js";
import { loadTransformersPeer, type TransformersPeer } from "./transformers-peer.js";

const round3 = (value: number) => Math.round(value * 1000) / 1000;

interface Sides {
  ours: OurWorker;
  peer: TransformersPeer;
}

/** Step 1: both tokenizers on the same texts. */
async function tokenize(modelDir: string, peer: TransformersPeer, texts: string[]): Promise<number[][]> {
  const ours = await loadTokenizer(modelDir);
  return texts.map((text, i) => {
    const ourIds = ours.encode(text, { addSpecialTokens: true });
    const peerIds = peer.encode(text);
    if (ourIds.join(",") !== peerIds.join(",")) throw new Error(`peer: the tokenizers disagree on prompt ${i} ${JSON.stringify(text)}: ours [${ourIds.join(", ")}], transformers.js [${peerIds.join(", ")}]`);
    return ourIds;
  });
}

/** Step 2: every way of running each prompt against our 1-stream tokens. */
async function checkIdentity(sides: Sides, prompts: number[][], settings: PeerSettings): Promise<{ expected: number[][]; checks: SequenceCheck[] }> {
  const expected: number[][] = [];
  const peerSingle: number[][] = [];
  for (const prompt of prompts) {
    expected.push((await sides.ours.generate([prompt], settings.maxTokens))[0]!);
    peerSingle.push((await sides.peer.generate([prompt], settings.maxTokens))[0]!);
  }
  const checks = [
    compareSequences("transformers.js, 1 stream", expected, peerSingle),
    compareSequences(`transformers.js, batch of ${prompts.length}`, expected, await sides.peer.generate(prompts, settings.maxTokens)),
    compareSequences(`ours, ${prompts.length} streams`, expected, await sides.ours.generate(prompts, settings.maxTokens)),
  ];
  return { expected, checks };
}

function printIdentity(prompts: number[][], checks: SequenceCheck[]): boolean {
  const failed = checks.some((c) => c.mismatches.length > 0);
  for (let i = 0; i < prompts.length; i++) {
    const cells = checks.map((c) => `${c.label}: ${c.perPrompt[i]}`);
    process.stdout.write(`  prompt ${i} (${prompts[i]!.length} tokens): ${cells.join("; ")}\n`);
  }
  if (failed) {
    process.stderr.write(`\n${"!".repeat(78)}\n!! peer: GENERATED TOKENS DIFFER: the bench has failed\n`);
    for (const c of checks) for (const m of c.mismatches) process.stderr.write(`!!   ${c.label}: ${m}\n`);
    process.stderr.write(`${"!".repeat(78)}\n\n`);
  }
  return !failed;
}

export async function run(args: string[]): Promise<BenchResult> {
  const settings = parseSettings(args);
  const loadAtStart = loadavg()[0]!;
  const root = await mkdtemp(join(tmpdir(), "sigmaserve-peer-"));
  const name = settings.preset;
  const modelDir = join(root, name);
  let ours: OurWorker | undefined;
  let peer: TransformersPeer | undefined;
  try {
    const written = await writeTinyHfLlamaDir(modelDir, { preset: name, seed: settings.seed, ...(settings.layers === undefined ? {} : { numHiddenLayers: settings.layers }) });
    await writeHfLlamaOnnx(modelDir, written.config, written.weights);
    peer = await loadTransformersPeer(root, name, settings.threads);
    ours = await startOurWorker(modelDir, name, { threads: settings.threads, kvDtype: settings.kvDtype });
    const sides = { ours, peer };
    const texts = promptTexts(settings.streams);
    const prompts = await tokenize(modelDir, peer, texts);
    process.stdout.write(`peer: ${name} (${written.config.num_hidden_layers} layers), ${prompts.length} prompts of ${Math.min(...prompts.map((p) => p.length))}..${Math.max(...prompts.map((p) => p.length))} tokens, ${settings.maxTokens} new tokens each; tokenizers agree\n`);
    const { expected, checks } = await checkIdentity(sides, prompts, settings);
    if (!printIdentity(prompts, checks)) throw new Error("peer: generated tokens differ between transformers.js and our worker (see above)");

    const single = prompts.slice(0, settings.singlePrompts);
    const many = `${settings.streams}`;
    const variants = ["ours_1", "peer_1", `ours_${many}`, `peer_${many}`] as const;
    const cpu: Record<string, { benchMs: number; workerMs: number; ortMs: number; tokens: number }[]> = Object.fromEntries(variants.map((v) => [v, []]));
    let timedMismatches = 0;
    const stats = await alternatingRounds<string>({
      variants,
      rounds: settings.rounds,
      warmupRounds: 1,
      async measure(variant) {
        const side = variant.startsWith("ours") ? sides.ours : sides.peer;
        const batch = variant.endsWith("_1") ? single : prompts;
        const benchCpu = process.cpuUsage();
        const workerCpuMs = processCpuMs(sides.ours.pid);
        sides.peer.takeOrtMs();
        const start = performance.now();
        const outputs: number[][] = [];
        if (variant.endsWith("_1")) for (const prompt of batch) outputs.push(...(await side.generate([prompt], settings.maxTokens)));
        else outputs.push(...(await side.generate(batch, settings.maxTokens)));
        const wallMs = performance.now() - start;
        const usage = process.cpuUsage(benchCpu);
        const tokens = batch.length * settings.maxTokens;
        cpu[variant]!.push({ benchMs: (usage.user + usage.system) / 1000, workerMs: processCpuMs(sides.ours.pid) - workerCpuMs, ortMs: sides.peer.takeOrtMs(), tokens });
        timedMismatches += compareSequences(variant, expected.slice(0, batch.length), outputs).mismatches.length;
        return (tokens * 1000) / wallMs;
      },
    });
    if (timedMismatches > 0) throw new Error(`peer: ${timedMismatches} sequences of the timed rounds differ from the identity check's`);
    // The 1-minute load average at both ends: the machine is shared, and the figures only mean something beside it.
    const load = { start: round3(loadAtStart), end: round3(loadavg()[0]!) };
    return result(settings, written.config, prompts, checks, stats, cpu, load);
  } finally {
    await ours?.stop();
    await peer?.release();
    await rm(root, { recursive: true, force: true });
  }
}

function result(
  settings: PeerSettings,
  config: Parameters<typeof parameterCount>[0],
  prompts: number[][],
  checks: SequenceCheck[],
  raw: Record<string, RoundStats>,
  cpu: Record<string, { benchMs: number; workerMs: number; ortMs: number; tokens: number }[]>,
  load: { start: number; end: number },
): BenchResult {
  const stats = Object.fromEntries(Object.entries(raw).map(([v, s]) => [v, withBest(s, "higher")]));
  /** Per new token of a variant, ms, over all its rounds (warm-up included): CPU of this process or of the worker, or the peer's time in ORT. */
  const cpuPerToken = (variant: string, pick: (c: { benchMs: number; workerMs: number; ortMs: number }) => number) => {
    const samples = cpu[variant]!;
    return round3(samples.reduce((sum, c) => sum + pick(c), 0) / samples.reduce((sum, c) => sum + c.tokens, 0));
  };
  const rows: Row[] = Object.entries(stats).map(([variant, s]) => {
    const ours = variant.startsWith("ours");
    return {
      variant,
      side: ours ? "sigmaserve worker" : "transformers.js",
      streams: variant.endsWith("_1") ? 1 : settings.streams,
      tok_s_median: Math.round(s.median),
      tok_s_best: Math.round(s.best),
      tok_s_spread: spreadText(s, 0),
      cpu_ms_per_tok_bench: cpuPerToken(variant, (c) => c.benchMs),
      cpu_ms_per_tok_worker: ours ? cpuPerToken(variant, (c) => c.workerMs) : 0,
      // The peer's wall time inside ORT's session.run per new token, ms.
      ort_ms_per_tok: ours ? "" : cpuPerToken(variant, (c) => c.ortMs),
    } as Row;
  });
  for (const line of discardedSummary(stats)) process.stdout.write(`  discarded: ${line}\n`);
  const many = settings.streams;
  const ratio = (a: string, b: string) => stats[a]!.median / stats[b]!.median;
  const cpuRatio = (streams: string) => cpuPerToken(`peer_${streams}`, (c) => c.benchMs) / cpuPerToken(`ours_${streams}`, (c) => c.benchMs + c.workerMs);
  return {
    name: "peer",
    config: {
      preset: settings.preset,
      layers: config.num_hidden_layers,
      parameters: parameterCount(config).total,
      quick: settings.quick,
      seed: settings.seed,
      maxNewTokens: settings.maxTokens,
      streams: many,
      singleStreamPromptsPerRound: settings.singlePrompts,
      promptTokens: prompts.map((p) => p.length),
      roundsKept: settings.rounds,
      warmupRounds: 1,
      loadAverage1m: load,
      threadBudget: `ORT intra-op ${settings.threads}, inter-op 1 on both sides; our native attention kernel: availableParallelism() threads between ORT stages`,
      peer: "@huggingface/transformers 4.3.1 (onnxruntime-node 1.30.0, cpu, fp32), one batched generate over left-padded prompts",
      ours: `apps/worker process, KV pools ${settings.kvDtype}, gRPC WorkerService, concurrent streams, a cache salt per call (no prefix-cache hits)`,
      decoding: "greedy, EOS ignored, exactly maxNewTokens per prompt; tokens/s = new tokens / wall time, prefill included",
      targets: { oursOverPeer1Stream: TARGET_RATIO_1_STREAM, [`oursOverPeer${many}Streams`]: TARGET_RATIO_16_STREAMS },
    },
    rows,
    ratios: {
      tok_s_ours_vs_peer_1_stream: ratio("ours_1", "peer_1"),
      [`tok_s_ours_vs_peer_${many}_streams`]: ratio(`ours_${many}`, `peer_${many}`),
      // CPU per token, peer / ours (> 1: ours spends less), both processes on our side: less sensitive than
      // wall time to how the shared machine's scheduler splits cores between one process and two.
      cpu_per_tok_peer_vs_ours_1_stream: cpuRatio("1"),
      [`cpu_per_tok_peer_vs_ours_${many}_streams`]: cpuRatio(`${many}`),
      identical_sequences: checks.reduce((sum, c) => sum + c.identical, 0),
      differing_sequences: checks.reduce((sum, c) => sum + c.mismatches.length, 0),
    },
    details: { identity: checks.map((c) => ({ label: c.label, identical: c.identical, perPrompt: c.perPrompt })), roundValues: Object.fromEntries(Object.entries(stats).map(([v, s]) => [v, { kept: s.values, discarded: s.discarded }])) },
  };
}
