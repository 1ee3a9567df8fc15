/**
 * Prompt logprobs through the router's dispatcher: GenerateFinish.prompt_logprobs
 * (and the request's sampling.prompt_logprobs) pass through unchanged, and a
 * request that asks for them is never split between a prefill and a decode
 * worker (the worker that finishes computes the whole prompt anyway, and a
 * scoring request, max_tokens 0, samples no first token to hand over). The
 * worker here is a scripted gRPC double; the real worker's values are checked
 * against the reference forward pass in worker-runtime.
 */
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { KvIndex, createWorkerSelector } from "@sigmaserve/kv-index";
import { GrpcStatusError, bindService, coordv1, grpcServiceDefinition, inferencev1, workerv1, type ServiceImpl } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { FAKE_MODEL_ID, FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { Dispatcher, type DispatchEvent, type RoutedRequest } from "./dispatcher.js";

const request = (tokens: number, sampling: Parameters<typeof create<typeof inferencev1.SamplingParamsSchema>>[1], first = 0): RoutedRequest => ({
  requestId: `r${tokens}-${first}`,
  clientRequestId: "c",
  model: FAKE_MODEL_ID,
  promptTokens: Array.from({ length: tokens }, (_, i) => (first + i * 7) % 256),
  sampling: create(inferencev1.SamplingParamsSchema, sampling),
  cacheSalt: "",
  priority: 0,
  arrivedAtMs: Date.now(),
  arrivedAtPerfMs: performance.now(),
});

async function collect(events: AsyncGenerator<DispatchEvent>): Promise<{ chunks: number; finish: inferencev1.GenerateFinish | undefined }> {
  let chunks = 0;
  let finish: inferencev1.GenerateFinish | undefined;
  for await (const event of events) {
    if (event.kind === "chunk") chunks++;
    else finish = event.finish;
  }
  return { chunks, finish };
}

const PROMPT_LOGPROBS = [
  { tokenId: 0, logprob: 0, topLogprobs: [] },
  { tokenId: 7, logprob: -1.5, topLogprobs: [{ tokenId: 9, logprob: -0.25 }] },
  { tokenId: 14, logprob: -3.75, topLogprobs: [{ tokenId: 14, logprob: -3.75 }] },
];

test("dispatcher - a scoring request's finish reaches the caller with its prompt_logprobs unchanged", async () => {
  const fake = await FakeWorker.start({ workerId: "info" });
  const seen: workerv1.GenerateRequest[] = [];
  const unimplemented = async () => {
    throw new GrpcStatusError(status.UNIMPLEMENTED, "not in this double");
  };
  const impl = {
    getInfo: async () => ({ info: fake.workerInfo() }),
    getLoad: async () => ({ load: fake.workerLoad() }),
    drain: unimplemented,
    importKv: unimplemented,
    getTokenizer: unimplemented,
    // eslint-disable-next-line require-yield
    exportKv: async function* () {
      throw new GrpcStatusError(status.UNIMPLEMENTED, "not in this double");
    },
    generate: async function* (req: workerv1.GenerateRequest) {
      seen.push(req);
      yield create(workerv1.GenerateResponseSchema, {
        event: { case: "finish", value: { finishReason: inferencev1.FinishReason.LENGTH, usage: { promptTokens: 3, completionTokens: 0 }, requestId: req.requestId, promptLogprobs: PROMPT_LOGPROBS } },
      });
    },
  } as unknown as ServiceImpl<typeof workerv1.WorkerService>;
  const server = new Server();
  server.addService(grpcServiceDefinition(workerv1.WorkerService), bindService(workerv1.WorkerService, impl));
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const pool = new WorkerPool({ maxMessageMib: 16 });
  pool.upsert(create(coordv1.WorkerInfoSchema, { ...fake.workerInfo(), workerId: "scorer", grpcAddress: `127.0.0.1:${port}` }));
  try {
    const dispatcher = new Dispatcher({ pool, index: new KvIndex(), selector: createWorkerSelector("round_robin"), logger: pino({ level: "silent" }) });
    const { chunks, finish } = await collect(dispatcher.generate(request(3, { maxTokens: 0, promptLogprobs: 1 }), new AbortController().signal));
    assert.equal(chunks, 0);
    assert.equal(seen[0]!.sampling?.promptLogprobs, 1);
    assert.equal(seen[0]!.sampling?.maxTokens, 0);
    assert.equal(finish?.finishReason, inferencev1.FinishReason.LENGTH);
    assert.deepEqual(
      finish?.promptLogprobs.map((e) => [e.tokenId, e.logprob, e.topLogprobs.map((t) => [t.tokenId, t.logprob])]),
      PROMPT_LOGPROBS.map((e) => [e.tokenId, e.logprob, e.topLogprobs.map((t) => [t.tokenId, t.logprob])]),
    );
  } finally {
    pool.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await fake.stop();
  }
});

test("dispatcher - a request with prompt_logprobs is not split between prefill and decode workers; one without is", async () => {
  const fakes = await Promise.all(["p1", "d1"].map((workerId) => FakeWorker.start({ workerId })));
  const pool = new WorkerPool({ maxMessageMib: 16 });
  const roles = [coordv1.WorkerRole.PREFILL, coordv1.WorkerRole.DECODE];
  fakes.forEach((fake, i) => pool.upsert(create(coordv1.WorkerInfoSchema, { ...fake.workerInfo(), role: roles[i]! })));
  const split = { bus: { requestMigration: async () => create(coordv1.MigrationResultSchema, { outcome: coordv1.MigrationOutcome.DONE }) }, minPromptTokens: 256, maxPrefillQueue: 100 };
  try {
    const dispatcher = new Dispatcher({ pool, index: new KvIndex(), selector: createWorkerSelector("kv_aware"), logger: pino({ level: "silent" }), split });
    await collect(dispatcher.generate(request(400, { maxTokens: 4, promptLogprobs: 0 }), new AbortController().signal));
    assert.deepEqual(fakes.map((f) => f.calls.length), [0, 1], "straight to the decode-capable worker");
    assert.equal(fakes[1]!.calls[0]!.request.sampling?.promptLogprobs, 0);
    // Another prompt: the router counts the first one as on d1 now (speculated), which rules a split out.
    await collect(dispatcher.generate(request(400, { maxTokens: 4 }, 1), new AbortController().signal));
    assert.deepEqual(fakes.map((f) => f.calls.map((c) => c.request.sampling?.maxTokens)), [[1], [4, 4]], "the same kind of prompt without prompt_logprobs is split");
  } finally {
    pool.close();
    await Promise.all(fakes.map((f) => f.stop()));
  }
});
