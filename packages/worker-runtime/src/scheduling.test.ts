/**
 * Scheduler policy through the worker: chunked prefill, priorities, drain,
 * and selective-V mode with a top-k that covers the context.
 */
import { status } from "@grpc/grpc-js";
import { GrpcStatusError, createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "./config/worker-config.js";
import { startWorker, type WorkerRuntime } from "./worker-runtime.js";

const logger = pino({ level: "silent" });

async function withWorker(flags: string[], body: (client: ServiceClient<typeof workerv1.WorkerService>, runtime: WorkerRuntime) => Promise<void>): Promise<void> {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", ...flags], {}), logger);
  const client = createGrpcClient(workerv1.WorkerService, runtime.address);
  try {
    await body(client, runtime);
  } finally {
    client.close();
    await runtime.stop();
  }
}

async function collect(client: ServiceClient<typeof workerv1.WorkerService>, requestId: string, prompt: number[], extra: Record<string, unknown> = {}) {
  const tokens: number[] = [];
  let finishedAt = 0;
  for await (const m of client.generate({ requestId, model: "sigma-tiny", promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 16, ignoreEos: true }, ...extra })) {
    if (m.event.case === "chunk") tokens.push(...m.event.value.tokenIds);
    else finishedAt = performance.now();
  }
  return { tokens, finishedAt };
}

const longPrompt = Array.from({ length: 150 }, (_, i) => (i * 53 + 11) % 256);

test("scheduler - a prompt prefilled in chunks of 16 tokens gives the tokens of a single prefill", async () => {
  let whole: number[] = [];
  await withWorker(["--max-batch-tokens", "512"], async (client) => {
    whole = (await collect(client, "whole", longPrompt)).tokens;
  });
  await withWorker(["--max-batch-tokens", "16"], async (client, runtime) => {
    const chunked = await collect(client, "chunked", longPrompt);
    assert.deepEqual(chunked.tokens, whole);
    // 150 prompt tokens in chunks of at most 16, then 16 decodes: at least 10 + 15 steps.
    assert.ok(runtime.scheduler.stats().stepsTotal >= 25);
  });
});

test("scheduler - a higher-priority request queued later runs first", async () => {
  await withWorker(["--max-num-seqs", "1"], async (client) => {
    const blocker = collect(client, "blocker", [1, 2, 3], { sampling: { temperature: 0, maxTokens: 40, ignoreEos: true } });
    await new Promise((r) => setTimeout(r, 20));
    const low = collect(client, "low", [4, 5, 6], { priority: 10 });
    await new Promise((r) => setTimeout(r, 5));
    const high = collect(client, "high", [7, 8, 9], { priority: -5 });
    const [, lowDone, highDone] = await Promise.all([blocker, low, high]);
    assert.ok(highDone.finishedAt < lowDone.finishedAt, "priority -5 finished before priority 10");
  });
});

test("scheduler - a draining worker finishes what runs and refuses new work with UNAVAILABLE", async () => {
  await withWorker([], async (client) => {
    const running = collect(client, "running", [1, 2, 3], { sampling: { temperature: 0, maxTokens: 40, ignoreEos: true } });
    await new Promise((r) => setTimeout(r, 20));
    const { status: drain } = await client.drain({ command: { requesterId: "test" } });
    assert.equal(drain!.state, 3 /* DRAINING */);
    await assert.rejects(collect(client, "late", [1, 2]), (err: unknown) => err instanceof GrpcStatusError && err.code === status.UNAVAILABLE && /draining/.test(err.details));
    assert.equal((await running).tokens.length, 40);
    for (let i = 0; i < 50 && (await client.getLoad({})).load!.state !== 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await client.getLoad({})).load!.state, 4 /* DRAINED */);
  });
});

test("scheduler - selective-V mode with a top-k covering the context gives the tokens of full attention", async () => {
  let full: number[] = [];
  await withWorker([], async (client) => {
    full = (await collect(client, "full", longPrompt)).tokens;
  });
  // A small device V pool pushes old V blocks to the host; top-k ≥ context keeps the arithmetic exact.
  // sigma-tiny, block 4: V block 8 KiB, so 0.25 MiB split evenly holds 16 V blocks (64 tokens) on the device.
  await withWorker(["--kv-device-mib", "0.25", "--kv-host-mib", "4", "--selective-v-topk", "100000", "--max-batch-tokens", "32"], async (client, runtime) => {
    assert.equal(runtime.kv.mode, "selective-v");
    const selective = await collect(client, "selective", longPrompt);
    assert.deepEqual(selective.tokens, full);
    assert.ok(runtime.kv.bytesMoved.v.demoted > 0, "old V blocks lived on the host");
    assert.equal(runtime.kv.bytesMoved.k.demoted, 0, "K never left the device");
  });
});
