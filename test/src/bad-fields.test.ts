/**
 * A request's own fault never counts against a worker, through real router
 * and worker processes over a real nats-server. The bug this pins: over HTTP,
 * `temperature: 1e300` passed the router, failed to serialise as float32 on
 * the way to a worker, was taken for a worker failure and quarantined every
 * worker for 2 s, so every client got 503. Now it is a 400 naming
 * `temperature`, and another client is served right after. Over gRPC the
 * router's refusal carries a google.rpc.BadRequest detail that the SDK reads
 * as `fieldViolations`.
 */
import { createClient, InvalidArgumentError, type SigmaserveClient } from "@sigmaserve/client";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

describe("bad fields - refused by the router, never held against a worker", () => {
  let cluster: Cluster;
  let client: SigmaserveClient;
  before(async () => {
    // A max_tokens limit below the context: a rule only the workers know.
    cluster = await startCluster({ workers: 2, workerFlags: ["--max-tokens-limit", "100"] });
    client = createClient({ address: cluster.grpcAddress, retry: { maxAttempts: 1 } });
    for (let i = 0; i < 200 && ((await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  /** Router log lines that say a worker was held to have failed (and was quarantined). */
  const failovers = () => cluster.router.logs.filter((entry) => String(entry["msg"]).endsWith("elsewhere"));
  const post = (body: object) => fetch(`http://${cluster.httpAddress}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  test("HTTP - temperature 1e300 is a 400 naming temperature; the next client is served, not 503", async () => {
    const bad = await post({ model: "sigma-tiny", prompt: "Hello", max_tokens: 4, temperature: 1e300 });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      error: { message: "temperature: must be at most 3.4028234663852886e+38 (the largest float32), got 1e+300", type: "invalid_request_error", param: "temperature", code: null },
    });
    // Another client, at once (well inside the 2 s a quarantine used to last).
    const other = createClient({ address: cluster.grpcAddress, retry: { maxAttempts: 1 } });
    try {
      const result = await other.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 4, temperature: 0, ignoreEos: true });
      assert.equal(result.usage.completionTokens, 4);
    } finally {
      other.close();
    }
    const good = await post({ model: "sigma-tiny", prompt: "Hello", max_tokens: 4, temperature: 0, ignore_eos: true });
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 4);
    assert.deepEqual(failovers(), []);
  });

  test("gRPC - a temperature the router refuses is INVALID_ARGUMENT with a BadRequest detail the SDK reads", async () => {
    // On the wire a float32 cannot hold 1e300 (an encoder sends +Infinity or refuses); the router refuses Infinity.
    const err = await client.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 4, temperature: Infinity, topP: 2 }).then(
      () => assert.fail("the call succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.deepEqual(err.fieldViolations, [
      { field: "sampling.temperature", description: "must be a finite number, got Infinity" },
      { field: "sampling.top_p", description: "must be in (0, 1], got 2" },
    ]);
    // 1e300 itself never leaves the SDK: refused before sending, with the same field.
    const local = await client.complete({ model: "sigma-tiny", prompt: "Hello", temperature: 1e300 }).catch((e: unknown) => e);
    assert.ok(local instanceof InvalidArgumentError);
    assert.deepEqual(local.fieldViolations.map((v) => v.field), ["sampling.temperature"]);
    const result = await client.complete({ model: "sigma-tiny", prompt: "Hello", maxTokens: 4, temperature: 0, ignoreEos: true });
    assert.equal(result.usage.completionTokens, 4);
  });

  test("gRPC - a rule only the worker knows comes back from it as a BadRequest on the public path, not retried", async () => {
    const err = await client.complete({ model: "sigma-tiny", prompt: [1, 2, 3], maxTokens: 200 }).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.deepEqual(err.fieldViolations, [{ field: "sampling.max_tokens", description: "must be at most 100, got 200" }]);
    assert.deepEqual(failovers(), [], "the worker's refusal is the request's fault: no failover, no quarantine");
    const result = await client.complete({ model: "sigma-tiny", prompt: [1, 2, 3], maxTokens: 4, temperature: 0, ignoreEos: true });
    assert.equal(result.usage.completionTokens, 4);
  });
});
