/**
 * The gRPC door's Generate over real gRPC (a raw grpc-js client, so response
 * headers, messages and the status are seen as they arrive): the router's
 * request id comes in the response headers before the first token, and a
 * stream that fails after its first token ends with the finish (usage so far)
 * and then a non-OK status naming the cause, never with OK.
 */
import { status, credentials, makeGenericClientConstructor, Metadata, Server, ServerCredentials, type Client, type ClientReadableStream, type StatusObject } from "@grpc/grpc-js";
import { bindService, grpcServiceDefinition, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR, FakeWorker } from "../testing/fake-worker.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";
import { inferenceServiceImpl, REQUEST_ID_METADATA } from "./inference-service.js";
import { toGrpcStatus } from "./to-grpc-status.js";

/** What a client saw of one Generate call, in arrival order. */
interface Seen {
  order: string[];
  headers: Metadata | undefined;
  messages: inferencev1.GenerateResponse[];
  status: StatusObject;
}

type RawClient = Client & { generate(request: unknown, metadata: Metadata): ClientReadableStream<inferencev1.GenerateResponse> };

function call(client: RawClient, request: object): Promise<Seen> {
  const seen: Seen = { order: [], headers: undefined, messages: [], status: { code: status.UNKNOWN, details: "no status yet", metadata: new Metadata() } };
  return new Promise((resolve) => {
    const stream = client.generate(request, new Metadata());
    stream.on("metadata", (metadata: Metadata) => {
      seen.order.push("headers");
      seen.headers = metadata;
    });
    stream.on("data", (message: inferencev1.GenerateResponse) => {
      seen.order.push(message.event.case ?? "none");
      seen.messages.push(message);
    });
    // 'error' and 'status' both fire for a non-OK status; 'status' alone for OK.
    stream.on("error", () => undefined);
    stream.on("status", (s: StatusObject) => {
      seen.order.push(`status ${status[s.code]}`);
      seen.status = s;
      resolve(seen);
    });
  });
}

const REQUEST = { model: "sigma-tiny", prompt: { case: "text", value: "Hi" }, sampling: { maxTokens: 12 } };

function finishOf(seen: Seen): inferencev1.GenerateFinish {
  const last = seen.messages.at(-1);
  assert.equal(last?.event.case, "finish", `the last message is the finish: ${seen.order.join(", ")}`);
  return last.event.value as inferencev1.GenerateFinish;
}

describe("grpc door - Generate's request id header and its status after a failed stream", () => {
  let router: TestRouter;
  let server: Server;
  let client: RawClient;
  const extra: FakeWorker[] = [];
  before(async () => {
    router = await startTestRouter();
    server = new Server();
    server.addService(grpcServiceDefinition(inferencev1.InferenceService), bindService(inferencev1.InferenceService, inferenceServiceImpl(router.pipeline), { toStatus: toGrpcStatus }));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const Constructor = makeGenericClientConstructor(grpcServiceDefinition(inferencev1.InferenceService), "InferenceService");
    client = new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as RawClient;
  });
  after(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await router.close();
    await Promise.all(extra.map((w) => w.stop()));
  });
  beforeEach(async () => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    for (const worker of router.pipeline.pool.list()) {
      worker.quarantinedUntilMs = 0;
      if (worker.id !== router.worker!.workerId) router.pipeline.pool.remove(worker.id);
    }
  });

  test("grpc door - x-request-id is the router's request id, in the headers before the first token", async () => {
    const seen = await call(client, REQUEST);
    assert.equal(seen.status.code, status.OK);
    assert.deepEqual(seen.order.slice(0, 2), ["headers", "chunk"]);
    const requestId = seen.headers?.get(REQUEST_ID_METADATA)[0];
    assert.match(String(requestId), /^[0-9a-f-]{36}$/);
    assert.equal(finishOf(seen).requestId, requestId, "the finish names the same id");
    // The worker was called with it too (the id in the router's and the worker's logs).
    assert.equal(router.worker!.calls.at(-1)?.request.requestId, requestId);
  });

  test("grpc door - a worker failing mid-stream with no worker left: tokens, the finish with usage, then UNAVAILABLE naming the cause", async () => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR, fail: { code: status.UNAVAILABLE, details: "worker lost its GPU", afterTokens: 4 } };
    const seen = await call(client, REQUEST);
    assert.deepEqual(seen.order, ["headers", "chunk", "finish", "status UNAVAILABLE"]);
    const finish = finishOf(seen);
    assert.equal(finish.finishReason, inferencev1.FinishReason.ERROR);
    assert.equal(finish.usage?.completionTokens, 4);
    assert.equal(seen.status.details, "every worker that could continue the stream failed: UNAVAILABLE: worker lost its GPU");
    assert.equal(finish.errorMessage, "every worker that could continue the stream failed");
    assert.equal(seen.headers?.get(REQUEST_ID_METADATA)[0], finish.requestId);
  });

  test("grpc door - replays exhausted after INTERNAL failures: the finish, then INTERNAL with the last worker's message", async () => {
    const fail = { code: status.INTERNAL, details: "attention kernel bug", afterTokens: 4 };
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR, fail };
    // Three workers, each failing 4 tokens after the replay it got: the first failure and two replays (DEFAULT_MAX_REPLAYS), then the router gives up.
    for (let i = 2; i <= 3; i++) {
      const worker = extra[i - 2] ?? (await FakeWorker.start({ workerId: `fake-worker-${i}` }));
      extra[i - 2] = worker;
      worker.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR, fail: { ...fail, afterTokens: 4 * i } };
      router.pipeline.pool.upsert(worker.workerInfo());
    }
    const seen = await call(client, REQUEST);
    assert.deepEqual(seen.order, ["headers", "chunk", "chunk", "chunk", "finish", "status INTERNAL"]);
    const finish = finishOf(seen);
    assert.equal(finish.finishReason, inferencev1.FinishReason.ERROR);
    assert.equal(finish.usage?.completionTokens, 12);
    assert.equal(seen.status.details, "gave up after 2 replays: INTERNAL: attention kernel bug");
  });

  test("grpc door - a request that does not fail ends OK after its finish", async () => {
    const seen = await call(client, REQUEST);
    assert.equal(seen.order.at(-1), "status OK");
    assert.equal(finishOf(seen).finishReason, inferencev1.FinishReason.LENGTH);
  });
});
