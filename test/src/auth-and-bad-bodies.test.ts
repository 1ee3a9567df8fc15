/**
 * Bad credentials and bad bodies through a real router process (API keys on)
 * in front of a real worker over a real nats-server: a missing or unknown key
 * is UNAUTHENTICATED over gRPC and 401 over HTTP, a malformed JSON body is 400
 * naming the problem, a wrongly typed field is 400 naming the field; the right
 * key is served, and the router serves the next request after each refusal.
 */
import { createClient, UnauthenticatedError, type SigmaserveClient } from "@sigmaserve/client";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

const KEY = "sk-tenant-a-0123456789";

describe("router with API keys - refusals over gRPC and HTTP", () => {
  let cluster: Cluster;
  let client: SigmaserveClient;
  before(async () => {
    cluster = await startCluster({ workers: 1, routerFlags: ["--api-keys", `${KEY}=tenant-a`] });
    client = createClient({ address: cluster.grpcAddress, apiKey: KEY, retry: { maxAttempts: 1 } });
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  test("gRPC - a missing key and an unknown key are UNAUTHENTICATED; the right key is served", async () => {
    for (const apiKey of [undefined, "sk-nobody"]) {
      const stranger = createClient({ address: cluster.grpcAddress, retry: { maxAttempts: 1 }, ...(apiKey === undefined ? {} : { apiKey }) });
      try {
        await assert.rejects(stranger.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 4 }), (err: unknown) => err instanceof UnauthenticatedError && /key/i.test(err.message));
      } finally {
        stranger.close();
      }
    }
    const result = await client.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 4, temperature: 0, ignoreEos: true });
    assert.equal(result.usage.completionTokens, 4);
  });

  test("HTTP - no key and a bad key are 401 in OpenAI's error shape", async () => {
    for (const headers of [{}, { authorization: "Bearer sk-nobody" }] as Record<string, string>[]) {
      const response = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "sigma-tiny", prompt: "Hello", max_tokens: 4 }),
      });
      assert.equal(response.status, 401);
      const body = (await response.json()) as { error: { type: string; message: string } };
      assert.match(body.error.message, /key/i);
    }
  });

  test("HTTP - a malformed JSON body is 400 saying so; a wrongly typed field is 400 naming it; the next request is served", async () => {
    const post = (body: string) =>
      fetch(`http://${cluster.httpAddress}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body });
    const malformed = await post('{"model": "sigma-tiny", "messages": [');
    assert.equal(malformed.status, 400);
    assert.match(((await malformed.json()) as { error: { message: string } }).error.message, /JSON/);
    const wrongType = await post(JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: "many" }));
    assert.equal(wrongType.status, 400);
    assert.match(((await wrongType.json()) as { error: { message: string } }).error.message, /max_tokens/);
    const good = await post(JSON.stringify({ model: "sigma-tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, ignore_eos: true }));
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 4);
  });
});
