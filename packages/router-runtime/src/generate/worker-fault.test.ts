/** A worker's BadRequest in the public request's field names; every other error passes unchanged. */
import { create } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { badRequestError, GrpcStatusError, inferencev1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRequestError } from "../errors.js";
import { publicFault, publicFieldOf } from "./worker-fault.js";

test("worker-fault - worker field paths → public ones, by the prompt's form", () => {
  const table: [string, "text" | "tokenIds", string][] = [
    ["prompt_token_ids[3]", "tokenIds", "token_ids.ids[3]"],
    ["prompt_token_ids", "tokenIds", "token_ids.ids"],
    ["prompt_token_ids[3]", "text", "text"],
    ["prompt_token_ids", "text", "text"],
    ["sampling.top_p", "text", "sampling.top_p"],
    ["sampling.stop[1]", "tokenIds", "sampling.stop[1]"],
    ["model", "text", "model"],
    ["generated_token_ids", "text", "generated_token_ids"],
  ];
  for (const [field, form, expected] of table) assert.equal(publicFieldOf(field, form), expected, `${field} (${form})`);
});

test("worker-fault - a worker's INVALID_ARGUMENT becomes an InvalidRequestError with public paths, its cause kept", () => {
  const request = create(inferencev1.GenerateRequestSchema, { model: "m", prompt: { case: "tokenIds", value: { ids: [1, 2] } } });
  const worker = badRequestError([
    { field: "prompt_token_ids[1]", description: "2 is outside the vocabulary [0, 2)" },
    { field: "sampling.max_tokens", description: "must be at most 10, got 11" },
  ]);
  const fault = publicFault(worker, request);
  assert.ok(fault instanceof InvalidRequestError);
  assert.deepEqual(fault.violations, [
    { field: "token_ids.ids[1]", description: "2 is outside the vocabulary [0, 2)" },
    { field: "sampling.max_tokens", description: "must be at most 10, got 11" },
  ]);
  assert.equal(fault.message, "token_ids.ids[1]: 2 is outside the vocabulary [0, 2); sampling.max_tokens: must be at most 10, got 11");
  assert.equal(fault.cause, worker);

  const bare = publicFault(new GrpcStatusError(status.INVALID_ARGUMENT, "the request cannot be serialised"), request);
  assert.ok(bare instanceof InvalidRequestError);
  assert.deepEqual([bare.violations, bare.message], [[], "the request cannot be serialised"]);

  const unavailable = new GrpcStatusError(status.UNAVAILABLE, "down");
  assert.equal(publicFault(unavailable, request), unavailable);
  const plain = new Error("boom");
  assert.equal(publicFault(plain, request), plain);
});
