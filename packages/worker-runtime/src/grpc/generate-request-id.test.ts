/**
 * The worker's Generate over a raw grpc-js client: the response headers carry
 * `x-request-id`, the request's id as the router sent it, before the first
 * token.
 */
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ClientReadableStream, type StatusObject } from "@grpc/grpc-js";
import { grpcServiceDefinition, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";
import { REQUEST_ID_METADATA } from "./worker-service.js";

type RawClient = Client & { generate(request: unknown, metadata: Metadata): ClientReadableStream<workerv1.GenerateResponse> };

test("worker generate - x-request-id is in the response headers, before the first token", async () => {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny"], {}), pino({ level: "silent" }));
  const Constructor = makeGenericClientConstructor(grpcServiceDefinition(workerv1.WorkerService), "WorkerService");
  const client = new Constructor(runtime.address, credentials.createInsecure()) as unknown as RawClient;
  try {
    const order: string[] = [];
    let requestId: unknown;
    const ended = await new Promise<StatusObject>((resolve) => {
      const stream = client.generate({ requestId: "router-req-42", model: "sigma-tiny", promptTokenIds: [1, 72, 105], sampling: { maxTokens: 2, ignoreEos: true } }, new Metadata());
      stream.on("metadata", (metadata: Metadata) => {
        order.push("headers");
        requestId = metadata.get(REQUEST_ID_METADATA)[0];
      });
      stream.on("data", (message: workerv1.GenerateResponse) => order.push(message.event.case ?? "none"));
      stream.on("error", () => undefined);
      stream.on("status", resolve);
    });
    assert.equal(ended.code, 0, ended.details);
    assert.equal(requestId, "router-req-42");
    assert.equal(order[0], "headers");
    assert.equal(order.at(-1), "finish");
  } finally {
    client.close();
    await runtime.stop();
  }
});
