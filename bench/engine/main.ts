/**
 * engine benchmark: sigma-tiny served by a real worker process over gRPC.
 *
 * 1. Throughput: greedy requests with ignore_eos (fixed output length) at
 *    concurrency 1, 4, 16 and 64; aggregate generated tokens per second.
 * 2. Prefix caching: time to first token of a long prompt on a cold cache,
 *    then of a prompt that shares its prefix (served from the cache).
 * Ratios are from the same run, on the same worker.
 */
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { startWorkerProcess } from "../lib/worker-process.js";

const OUTPUT_TOKENS = 64;

async function generate(client: ServiceClient<typeof workerv1.WorkerService>, id: string, prompt: number[], maxTokens: number) {
  const start = performance.now();
  let firstTokenMs: number | undefined;
  let tokens = 0;
  let serverTtftMs = 0;
  let cached = 0;
  for await (const message of client.generate({ requestId: id, model: "sigma-tiny", promptTokenIds: prompt, sampling: { temperature: 0, maxTokens, ignoreEos: true } })) {
    if (message.event.case === "chunk") {
      firstTokenMs ??= performance.now() - start;
      tokens += message.event.value.tokenIds.length;
    } else if (message.event.case === "finish") {
      serverTtftMs = message.event.value.timings!.ttftMs;
      cached = message.event.value.usage!.cachedPromptTokens;
    }
  }
  return { tokens, clientTtftMs: firstTokenMs ?? 0, serverTtftMs, cached };
}

const prompt = (seed: number, length: number) => Array.from({ length }, (_, i) => (seed * 7919 + i * 31) % 256);

export async function run(): Promise<BenchResult> {
  const flags = ["--preset", "sigma-tiny", "--port", "0", "--kv-device-mib", "512", "--max-batch-tokens", "2048", "--max-num-seqs", "64"];
  const worker = await startWorkerProcess(flags);
  const client = createGrpcClient(workerv1.WorkerService, worker.address);
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  try {
    await generate(client, "warmup", prompt(0, 32), 8);
    const throughput = new Map<number, number>();
    for (const concurrency of [1, 4, 16, 64]) {
      const requestsPerClient = concurrency === 1 ? 4 : 2;
      const start = performance.now();
      let tokens = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async (_, c) => {
          for (let r = 0; r < requestsPerClient; r++) {
            // NOTE: await first, then add: `tokens += await …` would read tokens before the await and lose updates.
            const result = await generate(client, `c${concurrency}-${c}-${r}`, prompt(c * 100 + r, 32), OUTPUT_TOKENS);
            tokens += result.tokens;
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      throughput.set(concurrency, tokens / seconds);
      rows.push({ part: "throughput", concurrency, requests: concurrency * requestsPerClient, prompt_tokens: 32, output_tokens: OUTPUT_TOKENS, seconds, tokens_per_s: tokens / seconds });
    }
    for (const concurrency of [4, 16, 64]) ratios[`tokens_per_s_c${concurrency}_vs_c1`] = throughput.get(concurrency)! / throughput.get(1)!;

    const long = prompt(4242, 1024);
    const cold = await generate(client, "cold", long, 1);
    const hit = await generate(client, "hit", [...long, 1, 2, 3], 1);
    rows.push({ part: "ttft cold", prompt_tokens: long.length, cached_tokens: cold.cached, client_ttft_ms: cold.clientTtftMs, server_ttft_ms: cold.serverTtftMs });
    rows.push({ part: "ttft prefix hit", prompt_tokens: long.length + 3, cached_tokens: hit.cached, client_ttft_ms: hit.clientTtftMs, server_ttft_ms: hit.serverTtftMs });
    ratios["ttft_cold_vs_prefix_hit"] = cold.clientTtftMs / hit.clientTtftMs;
  } finally {
    client.close();
    await worker.stop();
  }
  return { name: "engine", config: { preset: "sigma-tiny", workerFlags: flags, outputTokens: OUTPUT_TOKENS, greedy: true }, rows, ratios };
}
