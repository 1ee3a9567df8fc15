/**
 * A request that is not valid for its schema is the client's fault: over a
 * real server it is INVALID_ARGUMENT naming the field (proto3 strings must be
 * UTF-8; grpc-js alone answers INTERNAL "Error deserializing request"), and
 * the server goes on serving. The oracle for the bytes is protobuf-es's own
 * encoder, with the string's bytes replaced after encoding.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { credentials, makeGenericClientConstructor, status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { GenerateRequestSchema } from "../gen/sigmaserve/v1/inference_pb.js";
import { EchoRequestSchema, EchoService } from "../gen/sigmaserve/testing/v1/echo_pb.js";
import { fieldViolationsOf } from "./bad-request.js";
import { createGrpcClient } from "./create-client.js";
import { GrpcStatusError } from "./grpc-status-error.js";
import { startEchoServer } from "./testing/echo-server.js";
import { invalidUtf8Field, UndecodableMessage } from "./undecodable-message.js";

/** `bytes` with the first occurrence of `marker` (ASCII) replaced by 0xff bytes of the same length. */
function corrupt(bytes: Uint8Array, marker: string): Uint8Array {
  const out = Uint8Array.from(bytes);
  const at = Buffer.from(out).indexOf(marker);
  assert.ok(at >= 0);
  out.fill(0xff, at, at + marker.length);
  return out;
}

test("undecodable message - the first string field that is not UTF-8 is named by its path, list indexes included", () => {
  const request = create(GenerateRequestSchema, { model: "m", prompt: { case: "text", value: "hello" }, sampling: { stop: ["ok", "BAD", "fine"] }, clientRequestId: "id-1" });
  const bytes = toBinary(GenerateRequestSchema, request);
  assert.equal(invalidUtf8Field(GenerateRequestSchema, corrupt(bytes, "hello")), "text");
  assert.equal(invalidUtf8Field(GenerateRequestSchema, corrupt(bytes, "BAD")), "sampling.stop[1]");
  assert.equal(invalidUtf8Field(GenerateRequestSchema, corrupt(bytes, "id-1")), "client_request_id");
  assert.equal(invalidUtf8Field(GenerateRequestSchema, bytes), undefined);
});

test("undecodable message - over a real server a request that cannot be decoded is INVALID_ARGUMENT, not INTERNAL, and the next call is served", async () => {
  const echo = await startEchoServer();
  // A raw client, to send bytes no typed client would: a varint cut short.
  const Raw = makeGenericClientConstructor(
    {
      expand: {
        path: "/sigmaserve.testing.v1.EchoService/Expand",
        requestStream: false,
        responseStream: true,
        requestSerialize: (bytes: Buffer) => bytes,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (bytes: Buffer) => bytes,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    "EchoService",
  );
  const raw = new Raw(echo.address, credentials.createInsecure()) as unknown as { expand(bytes: Buffer): NodeJS.EventEmitter; close(): void };
  const client = createGrpcClient(EchoService, echo.address);
  try {
    const err = await new Promise<{ code: number; details: string }>((resolve) => raw.expand(Buffer.from([0x08, 0xff])).on("error", resolve));
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /^the sigmaserve\.testing\.v1\.ExpandRequest cannot be decoded: /);
    const reply = await client.echo(create(EchoRequestSchema, { payload: new Uint8Array([1, 2]) }));
    assert.deepEqual([...reply.payload], [1, 2]);
  } finally {
    raw.close();
    client.close();
    await echo.stop();
  }
});

test("undecodable message - a string field's status carries a BadRequest the clients read", () => {
  const bytes = corrupt(toBinary(GenerateRequestSchema, create(GenerateRequestSchema, { model: "m", prompt: { case: "text", value: "hello" } })), "hello");
  const err = new UndecodableMessage(GenerateRequestSchema, bytes, new Error("The encoded data was not valid for encoding utf-8")).toStatusError();
  assert.ok(err instanceof GrpcStatusError);
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.deepEqual(fieldViolationsOf(err), [{ field: "text", description: "is not valid UTF-8 (a protobuf string must be)" }]);
});
