/**
 * BadRequest details in grpc-status-details-bin: what setBadRequest writes is
 * checked by decoding the trailer independently (google.rpc.Status, then the
 * Any), and fieldViolationsOf reads what another server could send.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, DurationSchema } from "@bufbuild/protobuf/wkt";
import { Metadata, status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { BadRequestSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { badRequestError, fieldViolationsOf, setBadRequest, STATUS_DETAILS_METADATA_KEY } from "./bad-request.js";

const violations = [
  { field: "sampling.temperature", description: "must be >= 0, got -1" },
  { field: "sampling.stop[2]", description: "must not be empty" },
];

test("bad-request - the trailer is a google.rpc.Status with the call's code and message and one BadRequest", () => {
  const metadata = setBadRequest(status.INVALID_ARGUMENT, "two bad fields", violations);
  const raw = metadata.get(STATUS_DETAILS_METADATA_KEY)[0];
  assert.ok(raw instanceof Buffer);
  const decoded = fromBinary(StatusSchema, raw);
  assert.equal(decoded.code, 3);
  assert.equal(decoded.message, "two bad fields");
  assert.equal(decoded.details.length, 1);
  assert.equal(decoded.details[0]!.typeUrl, "type.googleapis.com/google.rpc.BadRequest");
  const badRequest = anyUnpack(decoded.details[0]!, BadRequestSchema);
  assert.deepEqual(
    badRequest?.fieldViolations.map((v) => [v.field, v.description]),
    [
      ["sampling.temperature", "must be >= 0, got -1"],
      ["sampling.stop[2]", "must not be empty"],
    ],
  );
});

test("bad-request - badRequestError is INVALID_ARGUMENT whose message lists the violations", () => {
  const err = badRequestError(violations);
  assert.equal(err.code, status.INVALID_ARGUMENT);
  assert.equal(err.details, "sampling.temperature: must be >= 0, got -1; sampling.stop[2]: must not be empty");
  assert.deepEqual(fieldViolationsOf(err), violations);
  assert.equal(badRequestError(violations, { message: "custom" }).details, "custom");
});

test("bad-request - every BadRequest detail is read, other details are skipped", () => {
  const rpcStatus = create(StatusSchema, {
    code: 3,
    message: "m",
    details: [
      anyPack(RetryInfoSchema, create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: 1n }) })),
      anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: [violations[0]!] })),
      anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: [violations[1]!] })),
    ],
  });
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_METADATA_KEY, Buffer.from(toBinary(StatusSchema, rpcStatus)));
  assert.deepEqual(fieldViolationsOf(metadata), violations);
  assert.deepEqual(fieldViolationsOf({ metadata }), violations);
});

test("bad-request - no trailer, or one that does not decode, reads as no violations", () => {
  assert.deepEqual(fieldViolationsOf(new Metadata()), []);
  assert.deepEqual(fieldViolationsOf({}), []);
  const garbled = new Metadata();
  garbled.set(STATUS_DETAILS_METADATA_KEY, Buffer.from([0xff, 0xff, 0xff]));
  assert.deepEqual(fieldViolationsOf(garbled), []);
});
