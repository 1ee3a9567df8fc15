/**
 * The gRPC door over real gRPC: a bad field is INVALID_ARGUMENT whose
 * google.rpc.BadRequest detail names the public field paths, refused before
 * admission and routing (no worker call, no quarantine); a worker's refusal
 * arrives renamed to the client's paths; the next request is served.
 */
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { bindService, createGrpcClient, fieldViolationsOf, GrpcStatusError, grpcServiceDefinition, inferencev1, type FieldViolation, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { DEFAULT_FAKE_BEHAVIOUR } from "../testing/fake-worker.js";
import { startTestRouter, type TestRouter } from "../testing/test-router.js";
import { inferenceServiceImpl } from "./inference-service.js";
import { toGrpcStatus } from "./to-grpc-status.js";

type Request = Parameters<ServiceClient<typeof inferencev1.InferenceService>["generate"]>[0];

describe("grpc door - field violations as BadRequest details", () => {
  let router: TestRouter;
  let server: Server;
  let client: ServiceClient<typeof inferencev1.InferenceService>;
  before(async () => {
    router = await startTestRouter();
    server = new Server();
    server.addService(grpcServiceDefinition(inferencev1.InferenceService), bindService(inferencev1.InferenceService, inferenceServiceImpl(router.pipeline), { toStatus: toGrpcStatus }));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    client = createGrpcClient(inferencev1.InferenceService, `127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await router.close();
  });
  beforeEach(() => {
    router.worker!.behaviour = { ...DEFAULT_FAKE_BEHAVIOUR };
    router.worker!.calls.length = 0;
  });

  async function refusal(request: Request): Promise<{ details: string; violations: FieldViolation[] }> {
    try {
      for await (const _ of client.generate(request));
    } catch (err) {
      assert.ok(err instanceof GrpcStatusError, String(err));
      assert.equal(err.code, status.INVALID_ARGUMENT, `${status[err.code]}: ${err.details}`);
      return { details: err.details, violations: fieldViolationsOf(err) };
    }
    return assert.fail("the call succeeded");
  }

  test("grpc door - bad sampling is refused with every violation before routing; nothing is quarantined; the next call is served", async () => {
    const got = await refusal({ model: "sigma-tiny", prompt: { case: "text", value: "Hi" }, sampling: { temperature: Infinity, topP: 0, stop: ["a", ""] } });
    assert.deepEqual(got.violations, [
      { field: "sampling.temperature", description: "must be a finite number, got Infinity" },
      { field: "sampling.top_p", description: "must be in (0, 1], got 0" },
      { field: "sampling.stop[1]", description: "must not be empty" },
    ]);
    assert.equal(got.details, "sampling.temperature: must be a finite number, got Infinity; sampling.top_p: must be in (0, 1], got 0; sampling.stop[1]: must not be empty");
    assert.equal(router.worker!.calls.length, 0);
    assert.deepEqual(router.pipeline.pool.list().map((w) => w.quarantinedUntilMs), [0]);
    const chunks: number[] = [];
    for await (const message of client.generate({ model: "sigma-tiny", prompt: { case: "text", value: "Hi" }, sampling: { maxTokens: 5, temperature: 0 } })) {
      if (message.event.case === "chunk") chunks.push(...message.event.value.tokenIds);
    }
    assert.equal(chunks.length, 5);
  });

  test("grpc door - the prompt, the model and the context are named by their public paths", async () => {
    assert.deepEqual((await refusal({ model: "sigma-tiny", prompt: { case: "tokenIds", value: { ids: [1, 2, 300] } } })).violations, [{ field: "token_ids.ids[2]", description: "300 is outside the vocabulary [0, 259)" }]);
    assert.deepEqual((await refusal({ model: "sigma-tiny" })).violations, [{ field: "prompt", description: "set either text or token_ids" }]);
    assert.deepEqual((await refusal({ model: "gpt-5", prompt: { case: "text", value: "Hi" } })).violations, [{ field: "model", description: 'unknown model "gpt-5"; this cluster serves "sigma-tiny"' }]);
    assert.deepEqual((await refusal({ model: "sigma-tiny", prompt: { case: "tokenIds", value: { ids: [1, 2, 3] } }, sampling: { maxTokens: 2046 } })).violations, [
      { field: "sampling.max_tokens", description: "2046 plus the 3 prompt tokens exceed the context of 2048 tokens" },
    ]);
    assert.equal(router.worker!.calls.length, 0);
  });

  test("grpc door - a worker's BadRequest reaches the client in the public request's paths, once", async () => {
    router.worker!.behaviour.fail = { code: status.INVALID_ARGUMENT, details: "prompt_token_ids[1]: nope", violations: [{ field: "prompt_token_ids[1]", description: "nope" }] };
    assert.deepEqual((await refusal({ model: "sigma-tiny", prompt: { case: "tokenIds", value: { ids: [5, 6] } } })).violations, [{ field: "token_ids.ids[1]", description: "nope" }]);
    assert.deepEqual((await refusal({ model: "sigma-tiny", prompt: { case: "text", value: "Hi" } })).violations, [{ field: "text", description: "nope" }]);
    assert.equal(router.worker!.calls.length, 2, "never retried");
    assert.deepEqual(router.pipeline.pool.list().map((w) => w.quarantinedUntilMs), [0]);
  });
});
