/**
 * Tenants through real router processes over a real nats-server (issue 15):
 * one tenant holding its share of the router's slots does not get another
 * refused (the share is the default one: half of --max-in-flight); a tenant
 * over its rate limit (set in the keys file) is 429 with Retry-After over HTTP
 * and RESOURCE_EXHAUSTED with a retry hint over gRPC; the keys file is reloaded
 * without a restart; and two routers on one NATS give a tenant the same secret
 * cache salt (its prefix cache hits across them) while two tenants never share.
 */
import { createClient, RateLimitedError, type SigmaserveClient } from "@sigmaserve/client";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

const KEY_A = "sk-tenant-a-0123456789";
const KEY_B = "sk-tenant-b-0123456789";
/** Tenant c's keys-file entry allows one request per 100 s: its second request is refused, whatever the clock does meanwhile. */
const KEY_C = "sk-tenant-c-0123456789";
const keysJson = (extra: Record<string, unknown> = {}) => JSON.stringify({ [KEY_A]: "tenant-a", [KEY_B]: "tenant-b", [KEY_C]: { tenant: "tenant-c", requestsPerS: 0.01 }, ...extra });

describe("router tenants - limits, key reload and salts", () => {
  let cluster: Cluster;
  let dir: string;
  let keysFile: string;
  const clients: SigmaserveClient[] = [];
  const client = (apiKey: string, address = cluster.grpcAddress) => {
    const made = createClient({ address, apiKey, retry: { maxAttempts: 1 } });
    clients.push(made);
    return made;
  };
  /** Replaces the keys file by rename, as the docs ask. */
  const writeKeys = async (json: string) => {
    await writeFile(`${keysFile}.tmp`, json);
    await rename(`${keysFile}.tmp`, keysFile);
  };
  const post = (key: string, body: Record<string, unknown> = {}) =>
    fetch(`http://${cluster.httpAddress}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "sigma-tiny", prompt: "Hello", max_tokens: 2, ...body }),
    });
  const inFlight = async () => Number(/^sigmaserve_router_requests_in_flight (\d+)$/m.exec(await (await fetch(`http://${cluster.httpAddress}/metrics`)).text())?.[1]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tenant-limits-"));
    keysFile = join(dir, "keys.json");
    await writeKeys(keysJson());
    // 4 router slots and no queue; no --tenant-max-in-flight: with keys on, each tenant may hold 2.
    cluster = await startCluster({ workers: 1, routerFlags: ["--api-keys-file", keysFile, "--max-in-flight", "4", "--max-queued", "0"] });
    for (let i = 0; i < 200 && ((await client(KEY_A).listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a tenant holding its share of streams does not get another tenant refused; its own next request is RESOURCE_EXHAUSTED", async () => {
    const controller = new AbortController();
    const a = client(KEY_A);
    // Long streams with large chunks, read up to their first token only: back-pressure holds them open.
    const held = [0, 1].map(async () => {
      const events = a.generate({ model: "sigma-tiny", prompt: "hold", maxTokens: 2000, ignoreEos: true, logprobs: 20 }, { signal: controller.signal })[Symbol.asyncIterator]();
      assert.equal((await events.next()).value?.type, "chunk");
      return events;
    });
    const streams = await Promise.all(held);
    try {
      assert.equal(await inFlight(), 2);
      await assert.rejects(a.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 2 }), (err: unknown) => {
        assert.ok(err instanceof RateLimitedError, String(err));
        assert.match(err.message, /tenant "tenant-a" is at its limit of 2 requests in flight/);
        assert.equal(err.retryAfterMs, 1_000);
        return true;
      });
      const b = await client(KEY_B).complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 2, ignoreEos: true });
      assert.equal(b.usage.completionTokens, 2);
      assert.equal(await inFlight(), 2, "tenant a held both its slots throughout");
    } finally {
      controller.abort();
      await Promise.all(streams.map((s) => s.return?.().catch(() => {})));
    }
  });

  test("a tenant over its keys-file rate is 429 with Retry-After over HTTP and RESOURCE_EXHAUSTED with retry-after-ms over gRPC", async () => {
    assert.equal((await post(KEY_C)).status, 200);
    const refused = await post(KEY_C);
    assert.equal(refused.status, 429);
    // 0.01 requests/s: the next one in (100 s - the time since the first), rounded up to whole seconds.
    const retryAfterS = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfterS >= 99 && retryAfterS <= 100, `Retry-After ${retryAfterS}`);
    const body = (await refused.json()) as { error: { type: string; code: string; message: string } };
    assert.deepEqual([body.error.type, body.error.code], ["rate_limit_error", "rate_limit_exceeded"]);
    assert.match(body.error.message, /^tenant "tenant-c" is over its limit of 0\.01 requests\/s \(burst 1\); retry in \d+ ms$/);
    await assert.rejects(client(KEY_C).complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 2 }), (err: unknown) => {
      assert.ok(err instanceof RateLimitedError, String(err));
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 98_000 && err.retryAfterMs <= 100_000, `retryAfterMs ${err.retryAfterMs}`);
      return true;
    });
    assert.equal((await post(KEY_B)).status, 200, "another tenant is not limited");
    const metrics = await (await fetch(`http://${cluster.httpAddress}/metrics`)).text();
    assert.match(metrics, /^sigmaserve_router_tenant_limited_total\{tenant="tenant-c",limit="requests_per_s"\} 2$/m);
  });

  test("the keys file rewritten: the new key (given as its sha256) works without a restart, the removed key is refused, a bad file changes nothing", async () => {
    // What `sigmaserve keys hash` prints, computed here independently.
    const hashApiKey = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;
    const newKey = "sk-tenant-d-new-0123456789";
    await writeKeys(JSON.stringify({ [KEY_A]: "tenant-a", [KEY_C]: { tenant: "tenant-c", requestsPerS: 0.01 }, [hashApiKey(newKey)]: "tenant-d" }));
    // The poll picks it up within a second; SIGHUP asks at once (both are fine, the last read wins).
    cluster.router.child.kill("SIGHUP");
    let status = 0;
    for (let i = 0; i < 300 && (status = (await post(newKey)).status) !== 200; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(status, 200);
    assert.equal((await post(KEY_B)).status, 401);
    await writeKeys("{ not json");
    cluster.router.child.kill("SIGHUP");
    for (let i = 0; i < 300 && !cluster.router.logs.some((l) => l["msg"] === "API keys reload failed; the keys loaded before stay in force"); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await post(newKey)).status, 200, "the keys from before stay");
    assert.equal((await post(KEY_B)).status, 401, "and the router stays closed");
    await writeKeys(keysJson({ [hashApiKey(newKey)]: "tenant-d" }));
    for (let i = 0; i < 300 && (status = (await post(KEY_B)).status) !== 200; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(status, 200);
  });

  test("two routers on one NATS derive the same secret salt: a tenant's prefix hits across them, another tenant's never does", async () => {
    const second = await cluster.addRouter(["--api-keys-file", keysFile]);
    const prompt = "The salt of a tenant is secret and the same on every router of the cluster. ".repeat(3);
    const ask = (key: string, address: string) => client(key, address).complete({ model: "sigma-tiny", prompt, maxTokens: 1, temperature: 0 });
    const first = await ask(KEY_A, cluster.grpcAddress);
    assert.equal(first.usage.cachedPromptTokens, 0);
    const again = await ask(KEY_A, second.ready["grpc"] as string);
    assert.ok(again.usage.cachedPromptTokens > 0, "tenant a's prefix, cached through router 1, hits through router 2");
    const other = await ask(KEY_B, second.ready["grpc"] as string);
    assert.equal(other.usage.cachedPromptTokens, 0, "tenant b's salt differs: no shared block");
  });
});
