/**
 * kv_aware against round_robin on real processes: six distinct long
 * prefixes, each sent twice in a row. kv_aware sends the second request to
 * the worker that computed the first, so it finds the prefix cached;
 * round_robin mostly sends it elsewhere. And the OpenAI door: a chat stream
 * through the router as an OpenAI client reads it.
 */
import { createClient } from "@sigmaserve/client";
import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./cluster.js";

async function prefixHits(policy: string): Promise<number> {
  const cluster = await startCluster({ workers: 3, policy });
  const client = createClient({ address: cluster.grpcAddress });
  try {
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 3; i++) await new Promise((r) => setTimeout(r, 50));
    let hits = 0;
    for (let p = 0; p < 6; p++) {
      const prefix = Array.from({ length: 160 }, (_, i) => (p * 97 + i * 13 + 1) % 256);
      await client.complete({ model: "sigma-tiny", prompt: [...prefix, 1], maxTokens: 1, temperature: 0 });
      const second = await client.complete({ model: "sigma-tiny", prompt: [...prefix, 2], maxTokens: 1, temperature: 0 });
      if (second.usage.cachedPromptTokens >= 144) hits++;
    }
    return hits;
  } finally {
    client.close();
    await cluster.stop();
  }
}

test("cluster - kv_aware finds every repeated prefix cached; round_robin mostly does not", async () => {
  const kvAware = await prefixHits("kv_aware");
  const roundRobin = await prefixHits("round_robin");
  assert.equal(kvAware, 6);
  assert.ok(roundRobin <= 2, `round_robin hit ${roundRobin} of 6`);
});

test("cluster - an OpenAI chat stream through the router arrives as server-sent events", async () => {
  const cluster = await startCluster({ workers: 1 });
  try {
    let response: Response | undefined;
    for (let i = 0; i < 200; i++) {
      response = await fetch(`http://${cluster.httpAddress}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content: "Hello" }], max_tokens: 6, stream: true, stream_options: { include_usage: true }, temperature: 0 }),
      });
      if (response.status !== 503) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(response!.status, 200);
    assert.match(response!.headers.get("content-type") ?? "", /^text\/event-stream/);
    const body = await response!.text();
    const frames = body.split("\n\n").filter((f) => f !== "");
    assert.ok(frames.every((f) => f.startsWith("data: ")), "every frame is a data: line");
    assert.equal(frames.at(-1), "data: [DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)) as { object: string; choices: { delta?: { role?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } | null });
    assert.equal(chunks[0]!.choices[0]!.delta!.role, "assistant");
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "length");
    assert.equal(chunks.at(-1)!.usage!.completion_tokens, 6);
  } finally {
    await cluster.stop();
  }
});
