/**
 * `sigmaserve drain --wait-s` against a real sigma-tiny worker on loopback (no bus: nothing to migrate to,
 * so the drain lets what runs finish): it returns once the worker reports DRAINED with nothing left, and
 * fails with the worker's state when the wait runs out first. This is the worker pod's preStop hook.
 */
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { loadWorkerConfig, startWorker, type WorkerRuntime } from "@sigmaserve/worker-runtime";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { main } from "../main.js";

type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

async function startTinyWorker(flags: string[] = []): Promise<{ runtime: WorkerRuntime; client: WorkerClient }> {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", ...flags], {}), pino({ level: "silent" }));
  return { runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address) };
}

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

/** Runs a greedy request to its end; resolves with how many tokens came back (rejects if the stream fails). */
async function generate(client: WorkerClient, requestId: string, promptLength: number, maxTokens: number): Promise<number> {
  let tokens = 0;
  const prompt = Array.from({ length: promptLength }, (_, i) => 1 + (i % 250));
  for await (const message of client.generate({ requestId, model: "sigma-tiny", promptTokenIds: prompt, sampling: { temperature: 0, maxTokens, ignoreEos: true } })) {
    if (message.event.case === "chunk") tokens += message.event.value.tokenIds.length;
  }
  return tokens;
}

/** Resolves once the worker reports `running` requests in its load. */
async function whenRunning(client: WorkerClient, running: number): Promise<void> {
  for (;;) {
    const { load } = await client.getLoad({});
    if ((load?.runningRequests ?? 0) + (load?.waitingRequests ?? 0) >= running) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("cli drain --wait-s - returns once the worker is DRAINED, after its running request finished", async () => {
  const { runtime, client } = await startTinyWorker();
  try {
    const request = generate(client, "r1", 8, 48);
    await whenRunning(client, 1);
    const result = await runCli(["drain", runtime.address, "--migrate", "--wait-s", "60"]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.match(lines[0]!, /: draining, migrating to its peers, [01] running, [01] waiting$/);
    assert.match(lines[1]!, /: drained after \d+\.\d s$/);
    assert.equal(await request, 48, "the request ran to its end");
    const { load } = await client.getLoad({});
    assert.deepEqual([load!.state, load!.runningRequests, load!.waitingRequests], [4, 0, 0]);
    // Asking again (the preStop after the autoscaler's own drain) answers at once.
    const again = await runCli(["drain", runtime.address, "--migrate", "--wait-s", "5"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: drained, migrating to its peers, 0 running, 0 waiting\n.*: drained after/);
  } finally {
    client.close();
    await runtime.kill();
  }
});

test("cli drain --wait-s - fails with exit 1 and the worker's state when the drain outlasts the wait", async () => {
  // One sequence at a time, one token per step: these requests take many seconds on any machine.
  const { runtime, client } = await startTinyWorker(["--max-num-seqs", "1", "--max-batch-tokens", "1"]);
  // Killing the worker at the end fails these streams; that is expected here.
  const requests = [0, 1, 2].map((i) => generate(client, `long-${i}`, 600, 1400).catch(() => -1));
  try {
    await whenRunning(client, 3);
    const startedMs = Date.now();
    const result = await runCli(["drain", runtime.address, "--wait-s", "1"]);
    assert.equal(result.code, 1);
    assert.ok(Date.now() - startedMs < 5_000, "it gives up at the deadline");
    assert.match(result.stderr, /^sigmaserve drain: .+ did not finish draining within 1 s \(draining, 1 running, [12] waiting\)\n$/);
  } finally {
    await runtime.kill();
    await Promise.all(requests);
    client.close();
  }
});

test("cli drain - --wait-s must be a positive integer", async () => {
  const result = await runCli(["drain", "127.0.0.1:1", "--wait-s", "0"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--wait-s must be an integer >= 1, got "0"/);
});
