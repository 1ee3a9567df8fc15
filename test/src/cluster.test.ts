/**
 * The cluster end to end: real worker and router processes coordinated over
 * a real nats-server, driven through the public SDK.
 */
import { createClient, InvalidArgumentError, type SigmaserveClient } from "@sigmaserve/client";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

async function waitForWorkers(client: SigmaserveClient, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const models = await client.listModels().catch(() => []);
    if ((models[0]?.readyWorkers ?? 0) >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the router never saw ${count} workers`);
}

const prefix = Array.from({ length: 256 }, (_, i) => (i * 37 + 13) % 256);

describe("cluster - kv_aware routing over NATS", () => {
  let cluster: Cluster;
  let client: SigmaserveClient;
  before(async () => {
    cluster = await startCluster({ workers: 3, workerFlags: ["--block-size", "16"] });
    client = createClient({ address: cluster.grpcAddress });
    await waitForWorkers(client, 3);
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  test("cluster - a streamed completion arrives through the SDK", async () => {
    const chunks: string[] = [];
    let finish: { finishReason: string; usage: { completionTokens: number }; timings: { ttftMs: number; routerMs: number } } | undefined;
    for await (const event of client.generate({ model: "sigma-tiny", prompt: "Hello, cluster", maxTokens: 8, temperature: 0, ignoreEos: true })) {
      if (event.type === "chunk") chunks.push(event.text);
      else finish = event;
    }
    assert.equal(finish?.finishReason, "length");
    assert.equal(finish?.usage.completionTokens, 8);
    // The router reports its own share of TTFT: some time, and part of the TTFT it also reports
    // (ttft_ms is whole milliseconds of wall clock, router_ms fractional, hence the 1 ms of slack).
    assert.ok(finish.timings.routerMs > 0, `router_ms ${finish.timings.routerMs}`);
    assert.ok(finish.timings.routerMs <= finish.timings.ttftMs + 1, `router_ms ${finish.timings.routerMs} within ttft_ms ${finish.timings.ttftMs}`);
  });

  test("cluster - a request sharing a long prefix goes to the worker that holds it", async () => {
    await client.complete({ model: "sigma-tiny", prompt: [...prefix, 1], maxTokens: 1, temperature: 0 });
    // Let the stored events reach the router's index (speculation covers the gap anyway).
    await new Promise((r) => setTimeout(r, 200));
    let hits = 0;
    for (let i = 0; i < 6; i++) {
      const result = await client.complete({ model: "sigma-tiny", prompt: [...prefix, 2 + i, 7], maxTokens: 1, temperature: 0 });
      if (result.usage.cachedPromptTokens >= 240) hits++;
    }
    assert.equal(hits, 6, "every follow-up found its prefix cached");
  });

  test("cluster - bad input gets INVALID_ARGUMENT naming the field by its public path, through the router", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: [1, 2, 300] }, "token_ids.ids[2]"],
      [{ prompt: "x", maxTokens: 100_000 }, "sampling.max_tokens"],
      [{ prompt: "x", temperature: -1 }, "sampling.temperature"],
      [{ prompt: "x", topP: 0 }, "sampling.top_p"],
      [{ prompt: "x", model: "gpt-9" }, "model"],
      [{ prompt: "" }, "text"],
    ];
    for (const [change, field] of cases) {
      await assert.rejects(
        client.complete({ model: "sigma-tiny", prompt: "x", ...change } as never),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(change)}: ${String(err)}`);
          assert.equal(err.field, field);
          return true;
        },
      );
    }
  });

  test("cluster - cancelling from the client frees the worker's blocks", async () => {
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const event of client.generate({ model: "sigma-tiny", prompt: "cancel me", maxTokens: 1500, ignoreEos: true }, { signal: controller.signal })) {
          if (event.type === "chunk" && ++seen === 3) controller.abort();
        }
      })(),
    );
    const used = async () => {
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(i));
        const { load } = await worker.getLoad({});
        total += load!.kvUsage.reduce((sum, u) => sum + u.usedBlocks, 0);
        worker.close();
      }
      return total;
    };
    for (let i = 0; i < 100 && (await used()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await used(), 0);
  });
});

describe("cluster - failover", () => {
  test("cluster - killing the worker mid-stream still gives one gap-free response equal to a single-worker greedy run", async () => {
    const cluster = await startCluster({ workers: 2, policy: "round_robin" });
    const client = createClient({ address: cluster.grpcAddress });
    try {
      await waitForWorkers(client, 2);
      const request = { model: "sigma-tiny", prompt: "The quick brown fox", maxTokens: 80, temperature: 0, ignoreEos: true };
      const expected = await client.complete(request);
      const tokens: number[] = [];
      let text = "";
      let finishReason = "";
      for await (const event of client.generate(request)) {
        if (event.type === "chunk") {
          assert.equal(event.completionOffset, tokens.length, "no gap and no repeat");
          tokens.push(...event.tokenIds);
          text += event.text;
          if (tokens.length === 20) {
            // Kill whichever worker runs it.
            for (let i = 0; i < 2; i++) {
              const worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(i));
              const { load } = await worker.getLoad({});
              worker.close();
              if (load!.runningRequests > 0) await cluster.workers[i]!.kill("SIGKILL");
            }
          }
        } else finishReason = event.finishReason;
      }
      assert.equal(finishReason, "length");
      assert.deepEqual(tokens, expected.tokenIds);
      assert.equal(text, expected.text);
    } finally {
      client.close();
      await cluster.stop();
    }
  });
});
