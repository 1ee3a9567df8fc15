/**
 * Restarting nats-server (with its JetStream store lost) while requests run:
 * requests keep succeeding (tokens flow router → worker over gRPC, not NATS),
 * the registry comes back (workers re-register on their next heartbeat), and
 * the router's KV index recovers (a snapshot after the epoch/seq check), so a
 * shared prefix is a cache hit again.
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import { createRestartableNatsServer } from "@sigmaserve/testkit";
import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./cluster.js";

async function readyWorkers(client: SigmaserveClient): Promise<number> {
  const models = await client.listModels().catch(() => []);
  return models[0]?.readyWorkers ?? 0;
}

test("cluster - restarting nats-server while requests run loses no request, and registry and index recover", async () => {
  const nats = await createRestartableNatsServer();
  await nats.start();
  const cluster = await startCluster({ workers: 2, natsUrl: nats.url });
  const client = createClient({ address: cluster.grpcAddress });
  try {
    for (let i = 0; i < 200 && (await readyWorkers(client)) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await readyWorkers(client), 2);
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        try {
          const result = await client.complete({ model: "sigma-tiny", prompt: `request ${i}`, maxTokens: 4, temperature: 0 });
          if (result.finishReason === "length") ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await nats.stop();
    await new Promise((r) => setTimeout(r, 1_500));
    await nats.start({ freshStore: true });
    // The registry recovers: both workers are routable again.
    for (let i = 0; i < 300 && (await readyWorkers(client)) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await readyWorkers(client), 2);
    const prefix = Array.from({ length: 128 }, (_, i) => (i * 11 + 5) % 256);
    await client.complete({ model: "sigma-tiny", prompt: [...prefix, 1], maxTokens: 1, temperature: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const again = await client.complete({ model: "sigma-tiny", prompt: [...prefix, 2], maxTokens: 1, temperature: 0 });
    running = false;
    await traffic;
    assert.deepEqual(failures, []);
    assert.ok(ok > 10, `requests kept succeeding (${ok})`);
    assert.ok(again.usage.cachedPromptTokens >= 112, `the prefix is a cache hit after the restart (${again.usage.cachedPromptTokens} cached)`);
  } finally {
    client.close();
    await cluster.stop();
    await nats.dispose();
  }
});
