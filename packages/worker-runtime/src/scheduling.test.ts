/**
 * The scheduler through a real worker (ORT model, gRPC): chunked prefill and
 * selective-V mode give the tokens of the plain path, and drain. The policy
 * itself (admission order, priorities, chunk sizes, block ids, preemption
 * victims) is specified step by step in scheduler/step-scheduler.*.test.ts.
 */
import { status } from "@grpc/grpc-js";
import { GrpcStatusError, coordv1, createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
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
    // 150 prompt tokens in 9 chunks of 16 and one of 6 (which samples the first token), then 15 decodes.
    assert.equal(runtime.scheduler.stats().stepsTotal, 25);
  });
});

test("scheduler - a draining worker finishes what runs and refuses new work with UNAVAILABLE", async () => {
  await withWorker([], async (client) => {
    const stream = client.generate({ requestId: "running", model: "sigma-tiny", promptTokenIds: [1, 2, 3], sampling: { temperature: 0, maxTokens: 40, ignoreEos: true } })[Symbol.asyncIterator]();
    // Its first chunk says it is admitted and running.
    const first = await stream.next();
    assert.equal(first.value?.event.case, "chunk");
    const { status: drain } = await client.drain({ command: { requesterId: "test" } });
    assert.equal(drain!.state, coordv1.WorkerState.DRAINING);
    await assert.rejects(collect(client, "late", [1, 2]), (err: unknown) => err instanceof GrpcStatusError && err.code === status.UNAVAILABLE && /draining/.test(err.details));
    let tokens = first.value.event.value.tokenIds.length;
    for (let next = await stream.next(); !next.done; next = await stream.next()) if (next.value.event.case === "chunk") tokens += next.value.event.value.tokenIds.length;
    assert.equal(tokens, 40);
    // The worker is drained before the stream's end can reach the client (the same tick that finishes the request).
    assert.equal((await client.getLoad({})).load!.state, coordv1.WorkerState.DRAINED);
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
