/**
 * The remote tier on real processes and a real nats-server with JetStream: a
 * worker with --remote-tier computes a prefix and is stopped (SIGTERM: its
 * drain writes its hot prefixes to the JetStream object store); a worker
 * started afterwards warms from the store and serves the prefix as a cache
 * hit on its first request, with the first worker's tokens.
 */
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./cluster.js";

const prompt = [...Array.from({ length: 512 }, (_, i) => (i * 41 + 9) % 256), 3];
const FLAGS = ["--block-size", "16", "--remote-tier", "--remote-tier-publish-ms", "0"];

async function generate(address: string, requestId: string) {
  const worker = createGrpcClient(workerv1.WorkerService, address);
  const tokens: number[] = [];
  let cached = -1;
  try {
    for await (const m of worker.generate({ requestId, model: "sigma-tiny", promptTokenIds: prompt, sampling: { maxTokens: 8, temperature: 0, ignoreEos: true } })) {
      if (m.event.case === "chunk") tokens.push(...m.event.value.tokenIds);
      else if (m.event.case === "finish") cached = m.event.value.usage!.cachedPromptTokens;
    }
  } finally {
    worker.close();
  }
  return { tokens, cached };
}

test("remote tier - a worker started after the store was warmed serves a stored prefix as a cache hit on its first request", async () => {
  const cluster = await startCluster({ workers: 1, workerFlags: FLAGS });
  try {
    const first = await generate(cluster.workerAddress(0), "writer");
    assert.equal(first.cached, 0);
    await cluster.workers[0]!.kill("SIGTERM");
    assert.equal(cluster.workers[0]!.child.exitCode, 0);
    assert.ok(cluster.workers[0]!.logs.some((l) => l["msg"] === "hot prefix blocks written to the remote tier" && (l["blocks"] as number) >= 32));

    const late = await cluster.addWorker("late", FLAGS);
    const warmed = late.logs.find((l) => l["msg"] === "warmed the cache from the remote tier");
    assert.ok(warmed !== undefined && (warmed["blocks"] as number) >= 32, JSON.stringify(warmed));
    const hit = await generate(late.ready["address"] as string, "reader");
    assert.equal(hit.cached, 512, "its first request is a hit on the whole prefix");
    assert.deepEqual(hit.tokens, first.tokens);
  } finally {
    await cluster.stop();
  }
});
