/**
 * The bad-input battery (issue 15, section 2): one table of hostile and broken
 * requests over every door of a real cluster (the router's HTTP endpoints,
 * its gRPC InferenceService, a worker's gRPC WorkerService), each with the
 * exact status it must get and the field its message must name. After every
 * case the router still answers, the next valid request is served, and the
 * worker is idle with no KV block in use (read from the worker itself over
 * GetLoad, not from a heartbeat that may lag).
 */
import { create } from "@bufbuild/protobuf";
import { credentials, makeGenericClientConstructor, Metadata, status } from "@grpc/grpc-js";
import { createGrpcClient, fieldViolationsOf, GrpcStatusError, inferencev1, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "./cluster.js";

const KEY = "sk-battery-0123456789";
const MODEL = "sigma-tiny";
/** sigma-tiny's context and vocabulary (the byte tokenizer: 256 bytes + BOS, EOS, PAD). */
const CONTEXT = 2048;
const VOCAB = 259;

interface HttpCase {
  name: string;
  method?: "GET" | "POST";
  path: string;
  /** A JSON value (sent as JSON) or raw bytes. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send no authorization header (the battery sends the key otherwise). */
  noKey?: boolean;
  expect: { status: number; param?: string | null; code?: string | null; message?: RegExp };
}

const completion = (fields: Record<string, unknown>) => ({ model: MODEL, prompt: "Hello", max_tokens: 2, ...fields });
const chat = (fields: Record<string, unknown>) => ({ model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 2, ...fields });
const deepJson = (depth: number) => `{"model":"${MODEL}","prompt":${"[".repeat(depth)}${"]".repeat(depth)}}`;

const HTTP_CASES: HttpCase[] = [
  // /v1/completions: every field's type and range.
  { name: "model missing", path: "/v1/completions", body: { prompt: "Hi" }, expect: { status: 400, param: "model" } },
  { name: "model of the wrong type", path: "/v1/completions", body: completion({ model: 7 }), expect: { status: 400, param: "model" } },
  { name: "unknown model", path: "/v1/completions", body: completion({ model: "gpt-9" }), expect: { status: 404, param: "model", code: "model_not_found" } },
  { name: "prompt missing", path: "/v1/completions", body: { model: MODEL }, expect: { status: 400, param: "prompt" } },
  { name: "empty prompt", path: "/v1/completions", body: completion({ prompt: "" }), expect: { status: 400, param: "prompt" } },
  { name: "prompt of the wrong type", path: "/v1/completions", body: completion({ prompt: { text: "Hi" } }), expect: { status: 400, param: "prompt" } },
  { name: "token prompt outside the vocabulary", path: "/v1/completions", body: completion({ prompt: [72, VOCAB + 5] }), expect: { status: 400, param: "prompt[1]" } },
  { name: "negative token id", path: "/v1/completions", body: completion({ prompt: [72, -1] }), expect: { status: 400, param: "prompt[1]" } },
  { name: "token prompt longer than the context", path: "/v1/completions", body: completion({ prompt: Array.from({ length: CONTEXT + 10 }, () => 65) }), expect: { status: 400, param: "prompt" } },
  { name: "text prompt far beyond the context (3.9 MB)", path: "/v1/completions", body: completion({ prompt: "x".repeat(3_900_000) }), expect: { status: 400, param: "prompt", message: /bytes cannot fit the context/ } },
  { name: "max_tokens negative", path: "/v1/completions", body: completion({ max_tokens: -1 }), expect: { status: 400, param: "max_tokens" } },
  { name: "max_tokens a string", path: "/v1/completions", body: completion({ max_tokens: "ten" }), expect: { status: 400, param: "max_tokens" } },
  { name: "max_tokens beyond the context", path: "/v1/completions", body: completion({ max_tokens: 1_000_000 }), expect: { status: 400, param: "max_tokens" } },
  { name: "max_tokens fractional", path: "/v1/completions", body: completion({ max_tokens: 2.5 }), expect: { status: 400, param: "max_tokens" } },
  { name: "temperature negative", path: "/v1/completions", body: completion({ temperature: -1 }), expect: { status: 400, param: "temperature" } },
  { name: "temperature 1e300 (beyond float32)", path: "/v1/completions", body: completion({ temperature: 1e300 }), expect: { status: 400, param: "temperature" } },
  { name: "temperature a string", path: "/v1/completions", body: completion({ temperature: "NaN" }), expect: { status: 400, param: "temperature" } },
  { name: "top_p 0", path: "/v1/completions", body: completion({ top_p: 0 }), expect: { status: 400, param: "top_p" } },
  { name: "top_p 1e39", path: "/v1/completions", body: completion({ top_p: 1e39 }), expect: { status: 400, param: "top_p" } },
  { name: "top_k below -1", path: "/v1/completions", body: completion({ top_k: -2 }), expect: { status: 400, param: "top_k" } },
  { name: "min_p above 1", path: "/v1/completions", body: completion({ min_p: 2 }), expect: { status: 400, param: "min_p" } },
  { name: "repetition_penalty 0", path: "/v1/completions", body: completion({ repetition_penalty: 0 }), expect: { status: 400, param: "repetition_penalty" } },
  { name: "min_tokens above max_tokens", path: "/v1/completions", body: completion({ min_tokens: 5, max_tokens: 2 }), expect: { status: 400, param: "min_tokens" } },
  { name: "n 17", path: "/v1/completions", body: completion({ n: 17 }), expect: { status: 400, param: "n" } },
  { name: "logprobs 21", path: "/v1/completions", body: completion({ logprobs: 21 }), expect: { status: 400, param: "logprobs" } },
  { name: "17 stop strings", path: "/v1/completions", body: completion({ stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }), expect: { status: 400, param: "stop" } },
  { name: "an empty stop string", path: "/v1/completions", body: completion({ stop: ["ok", ""] }), expect: { status: 400, param: "stop[1]" } },
  { name: "seed negative", path: "/v1/completions", body: completion({ seed: -1 }), expect: { status: 400, param: "seed" } },
  { name: "seed 2^64", path: "/v1/completions", body: completion({ seed: 2 ** 64 }), expect: { status: 400, param: "seed" } },
  { name: "stream not a boolean", path: "/v1/completions", body: completion({ stream: "yes" }), expect: { status: 400, param: "stream" } },
  { name: "a field the API refuses (user)", path: "/v1/completions", body: completion({ user: "u1" }), expect: { status: 400, param: "user" } },
  { name: "an unknown field (a typo)", path: "/v1/completions", body: completion({ temprature: 0.5 }), expect: { status: 400, param: "temprature", code: "unknown_parameter" } },
  // Bodies.
  { name: "a body that is an array", path: "/v1/completions", body: [completion({})], expect: { status: 400 } },
  { name: "an empty body", path: "/v1/completions", body: Buffer.alloc(0), expect: { status: 400, code: "invalid_json", message: /empty/ } },
  { name: "malformed JSON", path: "/v1/completions", body: Buffer.from('{"model": "sigma-tiny", "prompt": '), expect: { status: 400, code: "invalid_json", message: /line 1, column/ } },
  { name: "JSON nested 100,000 deep", path: "/v1/completions", body: Buffer.from(deepJson(100_000)), expect: { status: 400, param: "prompt" } },
  { name: "invalid UTF-8 in the body", path: "/v1/completions", body: Buffer.concat([Buffer.from(`{"model":"${MODEL}","prompt":"a`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), expect: { status: 400, code: "invalid_utf8" } },
  { name: "a body past the limit (5 MB)", path: "/v1/completions", body: Buffer.alloc(5 * 2 ** 20, 0x20), expect: { status: 413, code: "request_too_large" } },
  { name: "JSON sent as text/plain", path: "/v1/completions", body: Buffer.from(JSON.stringify(completion({}))), headers: { "content-type": "text/plain" }, expect: { status: 415, code: "unsupported_media_type" } },
  { name: "JSON sent as a form", path: "/v1/completions", body: Buffer.from(JSON.stringify(completion({}))), headers: { "content-type": "application/x-www-form-urlencoded" }, expect: { status: 415, code: "unsupported_media_type" } },
  // Credentials.
  { name: "no API key", path: "/v1/completions", body: completion({}), noKey: true, expect: { status: 401, code: "invalid_api_key" } },
  { name: "an unknown API key", path: "/v1/completions", body: completion({}), headers: { authorization: "Bearer sk-nobody" }, expect: { status: 401, code: "invalid_api_key" } },
  { name: "a malformed authorization header", path: "/v1/models", method: "GET", headers: { authorization: "Basic Zm9vOmJhcg==" }, expect: { status: 401, code: "invalid_api_key" } },
  // /v1/chat/completions.
  { name: "chat: messages missing", path: "/v1/chat/completions", body: { model: MODEL }, expect: { status: 400, param: "messages" } },
  { name: "chat: no messages", path: "/v1/chat/completions", body: chat({ messages: [] }), expect: { status: 400, param: "messages" } },
  { name: "chat: an unknown role", path: "/v1/chat/completions", body: chat({ messages: [{ role: "wizard", content: "Hi" }] }), expect: { status: 400, param: "messages[0].role" } },
  { name: "chat: content a number", path: "/v1/chat/completions", body: chat({ messages: [{ role: "user", content: 5 }] }), expect: { status: 400, param: "messages[0].content" } },
  { name: "chat: max_completion_tokens negative", path: "/v1/chat/completions", body: chat({ max_completion_tokens: -3 }), expect: { status: 400, param: "max_completion_tokens" } },
  { name: "chat: n 0", path: "/v1/chat/completions", body: chat({ n: 0 }), expect: { status: 400, param: "n" } },
  { name: "chat: tools (not supported)", path: "/v1/chat/completions", body: chat({ tools: [{ type: "function", function: { name: "f" } }] }), expect: { status: 400, param: "tools" } },
  { name: "chat: messages far beyond the context", path: "/v1/chat/completions", body: chat({ messages: [{ role: "user", content: "y".repeat(1_000_000) }] }), expect: { status: 400, param: "messages", message: /bytes cannot fit the context/ } },
  { name: "chat: unknown model", path: "/v1/chat/completions", body: chat({ model: "nope" }), expect: { status: 404, param: "model", code: "model_not_found" } },
  // vLLM's endpoints, routing.
  { name: "tokenize: unknown model", path: "/tokenize", body: { model: "nope", prompt: "Hi" }, expect: { status: 404, param: "model" } },
  { name: "tokenize: prompt missing", path: "/tokenize", body: { model: MODEL }, expect: { status: 400, param: "prompt" } },
  { name: "tokenize: prompt beyond the context", path: "/tokenize", body: { model: MODEL, prompt: "z".repeat(100_000) }, expect: { status: 400, param: "prompt", message: /bytes cannot fit the context/ } },
  { name: "detokenize: an id outside the vocabulary", path: "/detokenize", body: { model: MODEL, tokens: [72, 100_000] }, expect: { status: 400, param: "tokens" } },
  { name: "an unknown path", path: "/v1/engines", method: "GET", expect: { status: 404 } },
  { name: "the wrong method", path: "/v1/completions", method: "GET", expect: { status: 405 } },
];

interface GrpcCase {
  name: string;
  request: Parameters<typeof create<typeof inferencev1.GenerateRequestSchema>>[1];
  metadata?: Record<string, string>;
  expect: { code: status; field?: string; details?: RegExp };
}

const GRPC_CASES: GrpcCase[] = [
  { name: "model empty", request: { prompt: { case: "text", value: "Hi" } }, expect: { code: status.INVALID_ARGUMENT, field: "model" } },
  { name: "unknown model", request: { model: "nope", prompt: { case: "text", value: "Hi" } }, expect: { code: status.INVALID_ARGUMENT, field: "model", details: /unknown model "nope"/ } },
  { name: "no prompt", request: { model: MODEL }, expect: { code: status.INVALID_ARGUMENT, field: "prompt" } },
  { name: "empty text", request: { model: MODEL, prompt: { case: "text", value: "" } }, expect: { code: status.INVALID_ARGUMENT, field: "text" } },
  { name: "token id outside the vocabulary", request: { model: MODEL, prompt: { case: "tokenIds", value: { ids: [72, VOCAB] } } }, expect: { code: status.INVALID_ARGUMENT, field: "token_ids.ids[1]" } },
  { name: "token ids beyond the context", request: { model: MODEL, prompt: { case: "tokenIds", value: { ids: Array.from({ length: CONTEXT }, () => 65) } } }, expect: { code: status.INVALID_ARGUMENT, field: "token_ids" } },
  { name: "text beyond the context by its bytes", request: { model: MODEL, prompt: { case: "text", value: "q".repeat(500_000) } }, expect: { code: status.INVALID_ARGUMENT, field: "text", details: /bytes cannot fit/ } },
  { name: "temperature NaN", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { temperature: Number.NaN } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.temperature" } },
  { name: "temperature Infinity", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { temperature: Number.POSITIVE_INFINITY } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.temperature" } },
  { name: "top_p 0", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { topP: 0 } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.top_p" } },
  { name: "min_p NaN", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { minP: Number.NaN } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.min_p" } },
  { name: "max_tokens beyond the context", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { maxTokens: CONTEXT } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.max_tokens" } },
  { name: "max_tokens 0 without prompt_logprobs", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { maxTokens: 0 } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.max_tokens" } },
  { name: "17 stop strings", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { stop: Array.from({ length: 17 }, (_, i) => `s${i}`) } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.stop" } },
  { name: "a stop token outside the vocabulary", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, sampling: { stopTokenIds: [1, 9999] } }, expect: { code: status.INVALID_ARGUMENT, field: "sampling.stop_token_ids[1]" } },
  { name: "client_request_id of 200 characters", request: { model: MODEL, prompt: { case: "text", value: "Hi" }, clientRequestId: "r".repeat(200) }, expect: { code: status.INVALID_ARGUMENT, field: "client_request_id" } },
  { name: "no API key", request: { model: MODEL, prompt: { case: "text", value: "Hi" } }, metadata: {}, expect: { code: status.UNAUTHENTICATED } },
  { name: "a Basic authorization", request: { model: MODEL, prompt: { case: "text", value: "Hi" } }, metadata: { authorization: "Basic Zm9vOmJhcg==" }, expect: { code: status.UNAUTHENTICATED } },
  { name: "a 64 KiB key: just an unknown key", request: { model: MODEL, prompt: { case: "text", value: "Hi" } }, metadata: { authorization: `Bearer ${"k".repeat(64 * 1024)}` }, expect: { code: status.UNAUTHENTICATED } },
  // Past HTTP/2's header limits the stream is reset before the router sees it (grpc-js reports the reset as INTERNAL).
  { name: "a 1 MiB authorization header", request: { model: MODEL, prompt: { case: "text", value: "Hi" } }, metadata: { authorization: `Bearer ${"k".repeat(1024 * 1024)}` }, expect: { code: status.INTERNAL, details: /RST_STREAM/ } },
];

/** Every status code a grpc-js call can end with, by name, for messages. */
const codeName = (code: number) => status[code] ?? String(code);

describe("bad-input battery - every door refuses with the exact code, names the field, stays up and leaks nothing", () => {
  let cluster: Cluster;
  let router: ServiceClient<typeof inferencev1.InferenceService>;
  let worker: ServiceClient<typeof workerv1.WorkerService>;
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    cluster = await startCluster({ workers: 1, routerFlags: ["--api-keys", `${KEY}=battery`] });
    router = createGrpcClient(inferencev1.InferenceService, cluster.grpcAddress);
    worker = createGrpcClient(workerv1.WorkerService, cluster.workerAddress(0));
    for (let i = 0; i < 200; i++) {
      const models = await router.listModels({}, { metadata: auth }).catch(() => undefined);
      if ((models?.models[0]?.readyWorkers ?? 0) > 0) break;
      await sleep(50);
    }
  });
  after(async () => {
    router.close();
    worker.close();
    await cluster.stop();
  });

  /** The router serves a valid request, and the worker is idle with no KV block in use (a short settle for the last cancel). */
  async function assertHealthy(after: string): Promise<void> {
    const response = await fetch(`http://${cluster.httpAddress}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ model: MODEL, prompt: "still there?", max_tokens: 3, ignore_eos: true }),
    });
    assert.equal(response.status, 200, `the valid request after "${after}"`);
    assert.equal(((await response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 3);
    let load: workerv1.GetLoadResponse["load"];
    for (let i = 0; i < 100; i++) {
      load = (await worker.getLoad({})).load;
      const busy = (load?.runningRequests ?? 0) + (load?.waitingRequests ?? 0) + (load?.kvUsage ?? []).reduce((sum, u) => sum + u.usedBlocks, 0);
      if (busy === 0) return;
      await sleep(50);
    }
    assert.fail(`the worker is not idle after "${after}": ${JSON.stringify(load, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
  }

  test(`HTTP - ${HTTP_CASES.length} bad requests, each its exact status and parameter`, async () => {
    const problems: string[] = [];
    for (const c of HTTP_CASES) await check(problems, c.name, () => httpCase(c));
    assert.deepEqual(problems, []);
  });

  async function httpCase(c: HttpCase): Promise<void> {
    {
      const raw = c.body instanceof Buffer;
      const headers: Record<string, string> = { ...(c.noKey === true ? {} : auth), ...(c.body === undefined || (raw && c.headers?.["content-type"] !== undefined) ? {} : { "content-type": "application/json" }), ...c.headers };
      const init: RequestInit = { method: c.method ?? "POST", headers };
      if (c.body !== undefined) init.body = raw ? new Uint8Array(c.body as Buffer) : JSON.stringify(c.body);
      const response = await fetch(`http://${cluster.httpAddress}${c.path}`, init);
      const text = await response.text();
      assert.equal(response.status, c.expect.status, `${c.name}: ${text.slice(0, 300)}`);
      if (c.expect.status !== 404 || c.expect.param !== undefined) {
        const error = (JSON.parse(text) as { error: { message: string; param: string | null; code: string | null } }).error;
        if (c.expect.param !== undefined) assert.equal(error.param, c.expect.param, `${c.name}: ${error.message}`);
        if (c.expect.param !== undefined && c.expect.param !== null) assert.match(error.message, new RegExp(c.expect.param.replace(/[[\].]/g, "\\$&")), `${c.name}: the message names the field`);
        if (c.expect.code !== undefined) assert.equal(error.code, c.expect.code, `${c.name}: ${error.message}`);
        if (c.expect.message !== undefined) assert.match(error.message, c.expect.message, c.name);
      }
      await assertHealthy(c.name);
    }
  }

  test(`gRPC router - ${GRPC_CASES.length} bad requests, each its exact code and field (BadRequest detail)`, async () => {
    const problems: string[] = [];
    for (const c of GRPC_CASES) await check(problems, c.name, () => grpcCase(c));
    assert.deepEqual(problems, []);
  });

  async function grpcCase(c: GrpcCase): Promise<void> {
    {
      const metadata = c.metadata ?? auth;
      const err = await drain(router.generate(create(inferencev1.GenerateRequestSchema, c.request), { metadata })).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof GrpcStatusError, `${c.name}: expected ${codeName(c.expect.code)}, the call succeeded`);
      assert.equal(codeName(err.code), codeName(c.expect.code), `${c.name}: ${err.details}`);
      if (c.expect.field !== undefined) {
        assert.equal(fieldViolationsOf(err)[0]?.field, c.expect.field, `${c.name}: ${err.details}`);
        assert.ok(err.details.includes(c.expect.field), `${c.name}: the message names the field: ${err.details}`);
      }
      if (c.expect.details !== undefined) assert.match(err.details, c.expect.details, c.name);
      await assertHealthy(c.name);
    }
  }

  test("gRPC router - bytes no typed client would send: invalid UTF-8 in text is INVALID_ARGUMENT naming text; a 5 MiB request is RESOURCE_EXHAUSTED", async () => {
    const Raw = makeGenericClientConstructor(
      {
        generate: {
          path: "/sigmaserve.v1.InferenceService/Generate",
          requestStream: false,
          responseStream: true,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      "InferenceService",
    );
    const raw = new Raw(cluster.grpcAddress, credentials.createInsecure()) as unknown as { generate(bytes: Buffer, metadata: Metadata): NodeJS.EventEmitter; close(): void };
    const metadata = new Metadata();
    metadata.set("authorization", auth.authorization);
    const call = (bytes: Buffer) =>
      new Promise<{ code: number; details: string; metadata: Metadata }>((resolve) => {
        const stream = raw.generate(bytes, metadata);
        stream.on("data", () => {});
        stream.on("error", resolve);
        stream.on("end", () => resolve({ code: status.OK, details: "", metadata: new Metadata() }));
      });
    try {
      const encoded = Buffer.from(inferencev1.GenerateRequestSchema && (await import("@bufbuild/protobuf")).toBinary(inferencev1.GenerateRequestSchema, create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "HELLO" } })));
      encoded.fill(0xff, encoded.indexOf("HELLO"), encoded.indexOf("HELLO") + 5);
      const bad = await call(encoded);
      assert.equal(codeName(bad.code), "INVALID_ARGUMENT", bad.details);
      assert.deepEqual(fieldViolationsOf(new GrpcStatusError(bad.code, bad.details, { metadata: bad.metadata })).map((v) => v.field), ["text"]);
      await assertHealthy("invalid UTF-8 over gRPC");
      const huge = await call(Buffer.alloc(5 * 2 ** 20, 0));
      assert.equal(codeName(huge.code), "RESOURCE_EXHAUSTED", huge.details);
      await assertHealthy("a 5 MiB gRPC request");
    } finally {
      raw.close();
    }
  });

  test("gRPC router - a 1 ms deadline is DEADLINE_EXCEEDED and an immediate cancel CANCELLED; neither leaves anything running", async () => {
    const request = create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "deadline" }, sampling: { maxTokens: 200, ignoreEos: true } });
    for (let i = 0; i < 20; i++) {
      const err = await drain(router.generate(request, { metadata: auth, timeoutMs: 1 })).catch((e: unknown) => e);
      assert.ok(err instanceof GrpcStatusError && err.code === status.DEADLINE_EXCEEDED, String(err));
      const controller = new AbortController();
      const stream = router.generate(request, { metadata: auth, signal: controller.signal });
      controller.abort();
      const cancelled = await drain(stream).catch((e: unknown) => e);
      assert.ok(cancelled instanceof GrpcStatusError && cancelled.code === status.CANCELLED, String(cancelled));
    }
    await assertHealthy("deadlines and cancels");
  });

  test("gRPC worker - its own rules: request id, duplicates, empty prompts, stale epochs, unknown migrations", async () => {
    const base = { requestId: "battery-1", model: MODEL, promptTokenIds: [72, 105], sampling: { maxTokens: 64, ignoreEos: true } };
    const refused = async (stream: AsyncIterable<unknown>) => drain(stream).then(() => assert.fail("the call succeeded"), (e: unknown) => e as GrpcStatusError);
    let err = await refused(worker.generate({ ...base, requestId: "" }));
    assert.deepEqual([codeName(err.code), fieldViolationsOf(err)[0]?.field], ["INVALID_ARGUMENT", "request_id"]);
    err = await refused(worker.generate({ ...base, promptTokenIds: [] }));
    assert.deepEqual([codeName(err.code), fieldViolationsOf(err)[0]?.field], ["INVALID_ARGUMENT", "prompt_token_ids"]);
    err = await refused(worker.generate({ ...base, promptTokenIds: [72, 4000] }));
    assert.deepEqual([codeName(err.code), fieldViolationsOf(err)[0]?.field], ["INVALID_ARGUMENT", "prompt_token_ids[1]"]);
    // A duplicate while the first runs.
    const first = worker.generate({ ...base, requestId: "battery-dup", sampling: { maxTokens: 500, ignoreEos: true } })[Symbol.asyncIterator]();
    await first.next();
    err = await refused(worker.generate({ ...base, requestId: "battery-dup" }));
    assert.equal(codeName(err.code), "ALREADY_EXISTS", err.details);
    await first.return?.();
    const info = (await worker.getInfo({})).info!;
    err = await refused(worker.exportKv({ blockHashes: [1n], expectedEpoch: info.epoch + 1n }));
    assert.equal(codeName(err.code), "FAILED_PRECONDITION", err.details);
    err = await refused(worker.exportKv({ migrationId: "no-such-migration", blockHashes: [1n] }));
    assert.equal(codeName(err.code), "NOT_FOUND", err.details);
    await assertHealthy("the worker's own rules");
  });

  test("slow clients - 40 slowloris connections and a gRPC client that never reads do not hold up anyone else", async () => {
    const [host, port] = cluster.httpAddress.split(":") as [string, string];
    const sockets: Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const socket = connect(Number(port), host);
      socket.on("error", () => {});
      socket.write(`POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":`);
      sockets.push(socket);
    }
    const sleeper = router.generate(create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "never read" }, sampling: { maxTokens: 1500, ignoreEos: true } }), { metadata: auth })[Symbol.asyncIterator]();
    await sleeper.next(); // one message, then never read again
    try {
      // Others are served meanwhile, over both doors.
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`http://${cluster.httpAddress}/v1/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: JSON.stringify({ model: MODEL, prompt: `others ${i}`, max_tokens: 3 }) });
        assert.equal(response.status, 200);
        const chunks = await drainAll(router.generate(create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: `grpc ${i}` }, sampling: { maxTokens: 3, ignoreEos: true } }), { metadata: auth }));
        assert.ok(chunks > 0);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await sleeper.return?.();
    }
    await assertHealthy("slow clients");
  });

  test("HTTP/2 - streams on one connection beyond a router's admission limits are RESOURCE_EXHAUSTED with a retry hint; the rest are served", async () => {
    const small = await cluster.addRouter(["--api-keys", `${KEY}=battery`, "--max-in-flight", "4", "--max-queued", "4"]);
    const narrow = createGrpcClient(inferencev1.InferenceService, small.ready["grpc"] as string);
    try {
      for (let i = 0; i < 200 && ((await narrow.listModels({}, { metadata: auth }).catch(() => undefined))?.models[0]?.readyWorkers ?? 0) < 1; i++) await sleep(50);
      const request = create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "crowd" }, sampling: { maxTokens: 32, ignoreEos: true } });
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          drainAll(narrow.generate(request, { metadata: auth })).then(
            () => "ok",
            (e: unknown) => (e instanceof GrpcStatusError ? `${codeName(e.code)}${e.metadata.get("retry-after-ms").length > 0 ? " +retry-after-ms" : ""}` : String(e)),
          ),
        ),
      );
      const counts = Object.fromEntries([...new Set(results)].map((r) => [r, results.filter((x) => x === r).length]));
      assert.deepEqual(Object.keys(counts).sort(), ["RESOURCE_EXHAUSTED +retry-after-ms", "ok"], JSON.stringify(counts));
      // With keys on, one tenant gets half the router's slots and half its queue (2 + 2): at least those 4 are served.
      assert.ok(counts["ok"]! >= 4, JSON.stringify(counts));
    } finally {
      narrow.close();
      await small.kill("SIGKILL");
    }
    await assertHealthy("streams beyond the admission limits");
  });

  test("HTTP/2 - 300 concurrent streams on one connection are all served; the router stays up", async () => {
    const request = create(inferencev1.GenerateRequestSchema, { model: MODEL, prompt: { case: "text", value: "many" }, sampling: { maxTokens: 2, ignoreEos: true } });
    const results = await Promise.all(Array.from({ length: 300 }, () => drainAll(router.generate(request, { metadata: auth })).then(() => "ok", (e: unknown) => (e instanceof GrpcStatusError ? codeName(e.code) : String(e)))));
    // Admission may refuse past its limits (256 running + 1024 queued are not reached here): every stream is served.
    assert.deepEqual([...new Set(results)], ["ok"]);
    await assertHealthy("300 concurrent streams");
  });
});

/** Runs one case of a table; a failed assertion is collected with the case's name, so one run reports every case that fails. */
async function check(problems: string[], name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** Reads a stream to its end (throws its status). */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

/** Reads a stream to its end and counts its messages. */
async function drainAll(stream: AsyncIterable<unknown>): Promise<number> {
  let messages = 0;
  for await (const _ of stream) messages++;
  return messages;
}
