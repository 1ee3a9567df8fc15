/**
 * Drain with migration on real processes: three workers and a router over a
 * real nats-server, streams through the public SDK. A worker that is running
 * streams is drained with `sigmaserve drain ADDR --migrate` (and, in the
 * second test, stopped with SIGTERM under --drain-migrate): no request fails,
 * every stream is gap-free and equal to an uninterrupted run with the same
 * seed, and the prefixes it held are cache hits on the workers they moved to.
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "./cluster.js";

const CLI = join(dirname(createRequire(import.meta.url).resolve("@sigmaserve/cli/package.json")), "dist", "main.js");
const BLOCK = 16;
const TENANTS = 6;
const PREFIX = 64; // 4 blocks per tenant
const prompts = Array.from({ length: TENANTS }, (_, t) => [...Array.from({ length: PREFIX }, (_, i) => (t * 53 + i * 31 + 7) % 256), t + 1, t + 2, t + 3]);
// Long enough that the streams still run when the drain arrives (a CLI process, about a second after midway): at 320
// tokens the engine, once faster, finished them first and nothing was left to migrate.
const request = (t: number, maxTokens = 960) => ({ model: "sigma-tiny", prompt: prompts[t]!, maxTokens, temperature: 0.8, seed: 1_000 + t, ignoreEos: true });

async function waitForWorkers(client: SigmaserveClient, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) === count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the router never saw ${count} ready workers`);
}

async function load(cluster: Cluster, index: number) {
  const worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(index));
  try {
    return (await worker.getLoad({}, { timeoutMs: 2_000 })).load!;
  } finally {
    worker.close();
  }
}

/** The index of the worker running the most requests. */
async function busiest(cluster: Cluster): Promise<number> {
  const loads = await Promise.all(cluster.workers.map((_, i) => load(cluster, i)));
  return loads.reduce((best, l, i) => (l.runningRequests > loads[best]!.runningRequests ? i : best), 0);
}

/** Streams every tenant at once; calls `midway` once every stream has some tokens. Checks each stream is gap-free. */
async function streamAll(client: SigmaserveClient, midway: () => Promise<void>): Promise<{ tokens: number[][]; reasons: string[] }> {
  const tokens: number[][] = prompts.map(() => []);
  const reasons: string[] = prompts.map(() => "");
  let fired: Promise<void> | undefined;
  await Promise.all(
    prompts.map(async (_, t) => {
      for await (const event of client.generate(request(t))) {
        if (event.type === "chunk") {
          assert.equal(event.completionOffset, tokens[t]!.length, "no gap and no repeat");
          tokens[t]!.push(...event.tokenIds);
          if (fired === undefined && tokens.every((s) => s.length >= 12)) fired = midway();
        } else reasons[t] = event.finishReason;
      }
    }),
  );
  await fired;
  return { tokens, reasons };
}

/** Short requests every 20 ms until stopped; counts the ones that failed. */
function backgroundTraffic(client: SigmaserveClient): { stop(): Promise<{ sent: number; failed: string[] }> } {
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      sent++;
      await client.complete({ model: "sigma-tiny", prompt: "steady traffic", maxTokens: 4 }).then(
        (c) => void (c.finishReason === "error" && failed.push(c.finishReason)),
        (err: unknown) => void failed.push((err as Error).message),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { sent, failed };
    },
  };
}

async function waitForState(cluster: Cluster, index: number, state: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await load(cluster, index).catch(() => undefined))?.state === state) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`worker ${index} never reached state ${state}`);
}

describe("drain with migration", () => {
  test("drain --migrate under steady traffic: 0 failures, every stream equal to an uninterrupted run, migrated prefixes hit on their new workers", async () => {
    const cluster = await startCluster({ workers: 3, workerFlags: ["--block-size", String(BLOCK)] });
    const client = createClient({ address: cluster.grpcAddress });
    try {
      await waitForWorkers(client, 3);
      const expected = [];
      for (let t = 0; t < TENANTS; t++) expected.push((await client.complete(request(t))).tokenIds);
      const traffic = backgroundTraffic(client);
      let drained = -1;
      const { tokens, reasons } = await streamAll(client, async () => {
        drained = await busiest(cluster);
        const { stdout } = await promisify(execFile)(process.execPath, [CLI, "drain", cluster.workerAddress(drained), "--migrate"]);
        assert.match(stdout, new RegExp(`^w${drained}: draining, migrating to its peers`));
      });
      const { sent, failed } = await traffic.stop();
      assert.deepEqual(failed, [], `${failed.length} of ${sent} background requests failed`);
      assert.deepEqual(reasons, prompts.map(() => "length"));
      assert.deepEqual(tokens, expected, "every stream equals its uninterrupted run");
      await waitForState(cluster, drained, 4 /* DRAINED */);
      const report = cluster.workers[drained]!.logs.find((l) => l["msg"] === "drain migrated this worker's requests and hot prefixes");
      assert.ok(report !== undefined && (report["requestsMigrated"] as number) >= 1, JSON.stringify(report));
      assert.equal(report["failures"], 0);
      // Every tenant's prefix is a cache hit, the drained worker's included, on a worker that is still up.
      await waitForWorkers(client, 2);
      for (let t = 0; t < TENANTS; t++) {
        const again = await client.complete({ ...request(t), maxTokens: 1 });
        assert.ok(again.usage.cachedPromptTokens >= PREFIX, `tenant ${t}: ${again.usage.cachedPromptTokens} cached prompt tokens`);
      }
    } finally {
      client.close();
      await cluster.stop();
    }
  });

  test("SIGTERM with --drain-migrate hands the running streams over before the process exits", async () => {
    const cluster = await startCluster({ workers: 3, workerFlags: ["--block-size", String(BLOCK), "--drain-migrate"] });
    const client = createClient({ address: cluster.grpcAddress });
    try {
      await waitForWorkers(client, 3);
      const expected = [];
      for (let t = 0; t < TENANTS; t++) expected.push((await client.complete(request(t))).tokenIds);
      let stopped = -1;
      const { tokens, reasons } = await streamAll(client, async () => {
        stopped = await busiest(cluster);
        await cluster.workers[stopped]!.kill("SIGTERM");
      });
      assert.equal(cluster.workers[stopped]!.child.exitCode, 0);
      assert.deepEqual(reasons, prompts.map(() => "length"));
      assert.deepEqual(tokens, expected);
      const report = cluster.workers[stopped]!.logs.find((l) => l["msg"] === "drain migrated this worker's requests and hot prefixes");
      assert.ok(report !== undefined && (report["requestsMigrated"] as number) >= 1, JSON.stringify(report));
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
