import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { createGrpcClient } from "./create-client.js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { GRPC_DEFAULT_MAX_MESSAGE_BYTES, messageSizeOptions } from "./message-size.js";
import { startEchoServer } from "./testing/echo-server.js";

const FIVE_MIB = 5 * 1024 * 1024;
const RAISED_LIMIT_BYTES = 16 * 1024 * 1024;

function pattern(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 131 + 7) % 251);
}

test("grpc adapter - the default limit refuses a 5 MiB request with RESOURCE_EXHAUSTED", async () => {
  assert.equal(GRPC_DEFAULT_MAX_MESSAGE_BYTES, 4 * 1024 * 1024);
  const server = await startEchoServer();
  const client = createGrpcClient(EchoService, server.address);
  try {
    const err = await client.echo({ payload: pattern(FIVE_MIB) }).then(
      () => assert.fail("a 5 MiB request passed the default 4 MiB limit"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GrpcStatusError);
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /larger than max/);
  } finally {
    client.close();
    await server.stop();
  }
});

test("grpc adapter - the default client limit refuses a 5 MiB response", async () => {
  const server = await startEchoServer({ serverOptions: messageSizeOptions(RAISED_LIMIT_BYTES) });
  const client = createGrpcClient(EchoService, server.address);
  try {
    const err = await client.echo({ replyBytes: FIVE_MIB }).then(
      () => assert.fail("a 5 MiB response passed the default 4 MiB limit"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof GrpcStatusError);
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  } finally {
    client.close();
    await server.stop();
  }
});

test("grpc adapter - a raised limit on both sides carries 5 MiB each way intact", async () => {
  const server = await startEchoServer({ serverOptions: messageSizeOptions(RAISED_LIMIT_BYTES) });
  const client = createGrpcClient(EchoService, server.address, { channelOptions: messageSizeOptions(RAISED_LIMIT_BYTES) });
  try {
    const payload = pattern(FIVE_MIB);
    const response = await client.echo({ payload });
    assert.equal(response.payload.byteLength, FIVE_MIB);
    assert.ok(Buffer.from(response.payload).equals(Buffer.from(payload)), "payload bytes differ");
  } finally {
    client.close();
    await server.stop();
  }
});

test("grpc adapter - messageSizeOptions rejects a non-positive limit", () => {
  assert.throws(() => messageSizeOptions(0), /maxMessageBytes must be a positive integer, got 0/);
});
