/**
 * oversized-prompt benchmark (issue 15, defect 2): what an oversized prompt
 * costs the router and everyone else. A real cluster (one sigma-tiny worker);
 * a victim stream generates tokens the whole time; in alternating rounds the
 * victim runs alone (baseline) or while an attacker sends one oversized
 * request: a 3.9 MB text prompt over HTTP, or a 20 MB request over gRPC.
 * Per round: how long the refusal took, and the victim's longest gap between
 * two chunks during that window. Before the fix the HTTP prompt took 2.8 s to
 * be refused and stalled other streams 2.1 s; the gRPC one 16.6 s and 13.5 s.
 * Medians over rounds with their range. Flags: --rounds N (default 5).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { credentials, makeGenericClientConstructor, Metadata } from "@grpc/grpc-js";
import { createClient } from "@sigmaserve/client";
import { inferencev1 } from "@sigmaserve/proto";
import { parseArgs } from "node:util";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { startBenchCluster } from "../lib/cluster-processes.js";
import { median } from "../lib/median.js";

const MODEL = "sigma-tiny";
const HTTP_PROMPT_BYTES = 3_900_000;
const GRPC_REQUEST_BYTES = 20_000_000;
/** How long each window watches the victim, ms (an attack's refusal falls inside it). */
const WINDOW_MS = 1_500;

const round1 = (value: number) => Math.round(value * 10) / 10;

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args, options: { rounds: { type: "string", default: "5" } } });
  const rounds = Number(values.rounds);
  const cluster = await startBenchCluster({ workers: 1, policy: "kv_aware" });
  const client = createClient({ address: cluster.routerAddress, retry: { maxAttempts: 1 } });
  const Raw = makeGenericClientConstructor(
    { generate: { path: "/sigmaserve.v1.InferenceService/Generate", requestStream: false, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
    "InferenceService",
  );
  const raw = new Raw(cluster.routerAddress, credentials.createInsecure(), { "grpc.max_send_message_length": 64 * 2 ** 20 }) as unknown as { generate(b: Buffer, m: Metadata): NodeJS.EventEmitter; close(): void };
  const grpcBytes = Buffer.from(toBinary(inferencev1.GenerateRequestSchema, create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "x".repeat(GRPC_REQUEST_BYTES) } })));
  const httpBody = JSON.stringify({ model: MODEL, prompt: "x".repeat(HTTP_PROMPT_BYTES), max_tokens: 4 });

  const attacks: Record<string, () => Promise<string>> = {
    none: async () => "",
    http: async () => `${(await fetch(`http://${cluster.routerHttpAddress}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: httpBody })).status}`,
    grpc: () =>
      new Promise((resolve) => {
        const call = raw.generate(grpcBytes, new Metadata());
        call.on("data", () => {});
        call.on("error", (err: { code: number }) => resolve(`status ${err.code}`));
        call.on("end", () => resolve("ok"));
      }),
  };
  const samples = new Map<string, { refusalMs: number[]; maxGapMs: number[]; outcome: string }>();
  try {
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 50));
    for (let round = 0; round < rounds; round++) {
      for (const [name, attack] of Object.entries(attacks)) {
        // The victim: a long stream; its chunks' arrival times give the gaps.
        const controller = new AbortController();
        const arrivals: number[] = [];
        const victim = (async () => {
          for await (const event of client.generate({ model: MODEL, prompt: `victim ${round} ${name}`, maxTokens: 1900, ignoreEos: true, temperature: 0 }, { signal: controller.signal })) {
            if (event.type === "chunk") arrivals.push(performance.now());
          }
        })().catch(() => {});
        while (arrivals.length < 5) await new Promise((r) => setTimeout(r, 5));
        const windowStart = performance.now();
        const started = performance.now();
        const outcome = await attack();
        const refusalMs = name === "none" ? 0 : performance.now() - started;
        const rest = WINDOW_MS - (performance.now() - windowStart);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
        const windowEnd = performance.now();
        controller.abort();
        await victim;
        const inWindow = arrivals.filter((t) => t >= windowStart - 1_000 && t <= windowEnd);
        let maxGap = 0;
        for (let k = 1; k < inWindow.length; k++) maxGap = Math.max(maxGap, inWindow[k]! - inWindow[k - 1]!);
        const entry = samples.get(name) ?? { refusalMs: [], maxGapMs: [], outcome };
        entry.refusalMs.push(refusalMs);
        entry.maxGapMs.push(maxGap);
        samples.set(name, entry);
        process.stdout.write(`round ${round + 1}/${rounds} ${name}: ${outcome} in ${round1(refusalMs)} ms, victim's longest gap ${round1(maxGap)} ms\n`);
      }
    }
  } finally {
    client.close();
    raw.close();
    await cluster.stop();
  }
  const rows: Row[] = [...samples].map(([attack, s]) => ({
    attack: attack === "none" ? "none (baseline)" : attack === "http" ? "HTTP 3.9 MB text prompt" : "gRPC 20 MB request",
    outcome: s.outcome,
    refusal_p50_ms: round1(median(s.refusalMs)),
    refusal_max_ms: round1(Math.max(...s.refusalMs)),
    victim_max_gap_p50_ms: round1(median(s.maxGapMs)),
    victim_max_gap_min_ms: round1(Math.min(...s.maxGapMs)),
    victim_max_gap_max_ms: round1(Math.max(...s.maxGapMs)),
  }));
  const base = median(samples.get("none")!.maxGapMs);
  return {
    name: "oversized-prompt",
    config: { rounds, httpPromptBytes: HTTP_PROMPT_BYTES, grpcRequestBytes: GRPC_REQUEST_BYTES, windowMs: WINDOW_MS, model: MODEL },
    rows,
    ratios: {
      http_victim_gap_over_baseline: median(samples.get("http")!.maxGapMs) / base,
      grpc_victim_gap_over_baseline: median(samples.get("grpc")!.maxGapMs) / base,
    },
  };
}
