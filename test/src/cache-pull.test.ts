/**
 * Cache pulls on real processes: two workers and a round_robin router (so
 * the router sends requests to the worker that lacks the prefix half of the
 * time) over a real nats-server. Worker 0 computed a 512-token prefix; worker
 * 1 has never pulled, so its first big miss gets the exploratory pull. Both of
 * the first two requests are prefix hits: worker 0's from its own cache,
 * worker 1's from the blocks the router had worker 0 move to it.
 */
import { createClient } from "@sigmaserve/client";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./cluster.js";

/** Cache pulls are off unless the router is given a minimum (router-runtime's default for it, 4 blocks). */
const DEFAULT_CACHE_PULL_MIN_BLOCKS = 4;

const prefix = Array.from({ length: 512 }, (_, i) => (i * 61 + 17) % 256);

async function direct(address: string, prompt: number[]): Promise<void> {
  const worker = createGrpcClient(workerv1.WorkerService, address);
  try {
    for await (const _ of worker.generate({ requestId: `direct-${prompt.length}-${prompt[0]}`, model: "sigma-tiny", promptTokenIds: prompt, sampling: { maxTokens: 1, temperature: 0 } }));
  } finally {
    worker.close();
  }
}

test("cache pull - a worker that lacks a prefix another holds gets it moved before the request runs, and serves it as a hit", async () => {
  const cluster = await startCluster({ workers: 2, policy: "round_robin", workerFlags: ["--block-size", "16"], routerFlags: ["--cache-pull-min-blocks", String(DEFAULT_CACHE_PULL_MIN_BLOCKS)] });
  const client = createClient({ address: cluster.grpcAddress });
  try {
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await direct(cluster.workerAddress(0), [...prefix, 1]);
    // Worker 1 measures its prefill speed on a prompt of its own; it holds nothing of the prefix.
    await direct(cluster.workerAddress(1), Array.from({ length: 100 }, (_, i) => (i * 5) % 256));
    // Both workers' loads (with worker 1's prefill speed) and worker 0's stored events reach the router.
    await new Promise((r) => setTimeout(r, 2_500));
    const cached: number[] = [];
    for (const question of [[7, 7, 7], [9, 9, 9]]) {
      const done = await client.complete({ model: "sigma-tiny", prompt: [...prefix, ...question], maxTokens: 2, temperature: 0 });
      cached.push(done.usage.cachedPromptTokens);
    }
    assert.deepEqual(cached, [512, 512], "one request per worker, both hits");
    const pulled = cluster.workers[1]!.logs.find((l) => l["msg"] === "migration pull ended");
    assert.ok(pulled !== undefined && (pulled["imported"] as number) === 32, JSON.stringify(pulled));
  } finally {
    client.close();
    await cluster.stop();
  }
});
