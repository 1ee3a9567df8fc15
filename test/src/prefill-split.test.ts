/**
 * Prefill/decode split on real processes: one --role prefill worker and one
 * --role decode worker behind a router over a real nats-server. A long,
 * uncached prompt runs its prefill and first token on the prefill worker, its
 * KV moves to the decode worker, and the decode worker finishes it: the tokens
 * equal the aggregated path for the same seed (the prefill worker running the
 * whole request by itself, through its own WorkerService).
 */
import { createClient } from "@sigmaserve/client";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./cluster.js";

const prompt = Array.from({ length: 1_200 }, (_, i) => (i * 97 + 31) % 256);
const SAMPLING = { maxTokens: 40, temperature: 0.8, topP: 0.95, seed: 4_242n, ignoreEos: true };

test("prefill/decode split - a long prompt is prefilled on the prefill worker and decoded on the decode worker, with the aggregated path's tokens", async () => {
  const cluster = await startCluster({ workers: 2, workerFlags: ["--block-size", "16"], perWorkerFlags: [["--role", "prefill"], ["--role", "decode"]], routerFlags: ["--split-min-prompt-tokens", "1024"] });
  const client = createClient({ address: cluster.grpcAddress });
  try {
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    // The aggregated path: the whole request on one worker, by itself.
    const prefillWorker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(0));
    const aggregated: number[] = [];
    for await (const m of prefillWorker.generate({ requestId: "aggregated", model: "sigma-tiny", promptTokenIds: prompt, sampling: SAMPLING })) if (m.event.case === "chunk") aggregated.push(...m.event.value.tokenIds);
    prefillWorker.close();
    assert.equal(aggregated.length, 40);

    const split = await client.complete({ model: "sigma-tiny", prompt, ...SAMPLING });
    assert.deepEqual(split.tokenIds, aggregated, "the same tokens as the aggregated path");
    // The decode worker pulled the prompt's blocks and served the prompt from them.
    const pulled = cluster.workers[1]!.logs.find((l) => l["msg"] === "migration pull ended");
    assert.ok(pulled !== undefined && (pulled["imported"] as number) === 75, JSON.stringify(pulled));
    assert.equal(split.usage.cachedPromptTokens, 1_200, "all 75 blocks of the prompt came over; the decode worker computed only the first token's KV");
  } finally {
    client.close();
    await cluster.stop();
  }
});
