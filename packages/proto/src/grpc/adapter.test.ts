import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { fieldViolationsOf } from "./bad-request.js";
import { createGrpcClient, isCancelled, type ServiceClient } from "./create-client.js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { startEchoServer, type EchoServerHandle } from "./testing/echo-server.js";

async function expectStatus(promise: Promise<unknown>, code: status): Promise<GrpcStatusError> {
  const err = await promise.then(
    () => assert.fail(`expected ${status[code]}, the call succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GrpcStatusError, `expected GrpcStatusError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
  return err;
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("grpc adapter - round trips on loopback", () => {
  let server: EchoServerHandle;
  let client: ServiceClient<typeof EchoService>;
  before(async () => {
    server = await startEchoServer();
    client = createGrpcClient(EchoService, server.address);
  });
  after(async () => {
    client.close();
    await server.stop();
  });

  test("grpc adapter - unary echoes the exact bytes", async () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) % 256);
    const response = await client.echo({ payload });
    assert.ok(Buffer.from(response.payload).equals(Buffer.from(payload)), "payload bytes differ");
    assert.equal(response.$typeName, "sigmaserve.testing.v1.EchoResponse");
  });

  test("grpc adapter - a server stream delivers 10,000 messages in order", async () => {
    const messages = await drain(client.expand({ count: 10_000 }));
    assert.equal(messages.length, 10_000);
    messages.forEach((message, i) => assert.equal(message.index, i));
  });

  test("grpc adapter - a client stream is counted whole", async () => {
    const chunk = new Uint8Array(100);
    async function* requests() {
      for (let i = 0; i < 1_000; i++) yield { payload: chunk };
    }
    const response = await client.collect(requests());
    assert.equal(response.messages, 1_000);
    assert.equal(response.bytes, 100_000n);
  });

  test("grpc adapter - a bidi stream echoes each message", async () => {
    const replies = await drain(client.chat([{ text: "a" }, { text: "b" }, { text: "c" }]));
    assert.deepEqual(replies.map((reply) => reply.text), ["a", "b", "c"]);
  });

  test("grpc adapter - a typed handler error reaches the client with its code and its BadRequest details", async () => {
    const err = await expectStatus(drain(client.expand({ count: 2_000_000 })), status.INVALID_ARGUMENT);
    assert.equal(err.details, "count: must be at most 1000000, got 2000000");
    assert.deepEqual(fieldViolationsOf(err), [{ field: "count", description: "must be at most 1000000, got 2000000" }]);
  });

  test("grpc adapter - a request the wire cannot carry fails on the client as INVALID_ARGUMENT (the caller's mistake), unary and streaming", async () => {
    const calls: [string, Promise<unknown>][] = [
      ["unary", client.echo({ replyBytes: -1 })],
      ["server streaming", drain(client.expand({ count: 2 ** 32 }))],
      ["client streaming", client.collect([{ payload: new Uint8Array(1) }, { payload: "not bytes" as never }])],
    ];
    // Bidi streams encode through the same writer as client streams (ChatRequest has only a string, which takes anything).
    // protobuf-es names the field it could not encode.
    const fields = ["EchoRequest.reply_bytes", "ExpandRequest.count", "CollectRequest.payload"];
    for (const [i, [kind, call]] of calls.entries()) {
      const err = await expectStatus(call, status.INVALID_ARGUMENT);
      const type = fields[i]!.split(".")[0];
      assert.ok(err.details.startsWith(`the sigmaserve.testing.v1.${type} cannot be serialised: cannot encode field sigmaserve.testing.v1.${fields[i]} to binary`), `${kind}: ${err.details}`);
    }
    // The channel is fine afterwards.
    assert.equal((await client.echo({ payload: new Uint8Array([9]) })).payload[0], 9);
  });

  test("grpc adapter - an untyped handler error becomes INTERNAL and the server stays up", async () => {
    const err = await expectStatus(drain(client.chat([{ text: "ok" }, { text: "fail" }])), status.INTERNAL);
    assert.match(err.details, /refused the word 'fail'/);
    assert.equal((await client.echo({ payload: new Uint8Array([1]) })).payload[0], 1);
  });
});

describe("grpc adapter - cancellation and deadlines", () => {
  test("grpc adapter - breaking out of a stream mid-way cancels it on the server", async () => {
    const server = await startEchoServer();
    const client = createGrpcClient(EchoService, server.address);
    try {
      let seen = 0;
      for await (const message of client.expand({ count: 1_000_000, intervalMs: 1 })) {
        assert.equal(message.index, seen);
        if (++seen === 5) break;
      }
      const ended = await server.expandEnded;
      assert.equal(ended.aborted, true);
      assert.ok(ended.written < 1_000_000, `server kept writing: ${ended.written}`);
    } finally {
      client.close();
      await server.stop();
    }
  });

  test("grpc adapter - an AbortSignal cancels a stream with CANCELLED", async () => {
    const server = await startEchoServer();
    const client = createGrpcClient(EchoService, server.address);
    try {
      const controller = new AbortController();
      let seen = 0;
      const consume = (async () => {
        for await (const _ of client.expand({ count: 1_000_000, intervalMs: 1 }, { signal: controller.signal })) {
          if (++seen === 3) controller.abort();
        }
      })();
      const err = await expectStatus(consume, status.CANCELLED);
      assert.ok(isCancelled(err));
      assert.equal((await server.expandEnded).aborted, true);
    } finally {
      client.close();
      await server.stop();
    }
  });

  test("grpc adapter - a passed deadline gives DEADLINE_EXCEEDED and aborts the handler", async () => {
    const server = await startEchoServer();
    const client = createGrpcClient(EchoService, server.address);
    try {
      await expectStatus(drain(client.expand({ count: 100, intervalMs: 50 }, { timeoutMs: 120 })), status.DEADLINE_EXCEEDED);
      assert.equal((await server.expandEnded).aborted, true);
    } finally {
      client.close();
      await server.stop();
    }
  });
});
