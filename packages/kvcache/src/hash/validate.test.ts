import assert from "node:assert/strict";
import { test } from "node:test";
import { blockHash } from "./block-hash.js";
import { canonicalBlockBytes } from "./canonical-block-bytes.js";
import { KvHashError } from "./errors.js";
import { describeHashSpec } from "./hash-spec.js";
import { prefixBlockHashes } from "./prefix-block-hashes.js";

const OPTIONS = { blockSizeTokens: 4, modelId: "llama-3-8b" };

function throwsNaming(run: () => unknown, argument: string, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof KvHashError);
    assert.equal(error.name, "KvHashError");
    assert.equal(error.argument, argument);
    assert.match(error.message, message);
    return true;
  });
}

test("kvcache hash - token ids outside [0, 2^32) or not integers are refused, naming the index", () => {
  throwsNaming(() => prefixBlockHashes([1, 2, 2 ** 32], OPTIONS), "tokenIds[2]", /^tokenIds\[2\]: token ids must be integers in \[0, 2\^32\), got 4294967296$/);
  throwsNaming(() => prefixBlockHashes([-1], OPTIONS), "tokenIds[0]", /got -1$/);
  throwsNaming(() => prefixBlockHashes([1, 1.5], OPTIONS), "tokenIds[1]", /got 1\.5$/);
  throwsNaming(() => prefixBlockHashes([Number.NaN], OPTIONS), "tokenIds[0]", /got NaN$/);
  throwsNaming(() => blockHash(0n, [0, 2 ** 40], []), "tokenIds[1]", /token ids/);
  // The partial tail is checked too.
  throwsNaming(() => prefixBlockHashes([1, 2, 3, 4, 5, -3], OPTIONS), "tokenIds[5]", /got -3$/);
});

test("kvcache hash - the largest token id 2^32 - 1 is accepted", () => {
  assert.equal(prefixBlockHashes([0xffff_ffff, 0, 0, 0], OPTIONS).length, 1);
});

test("kvcache hash - blockSizeTokens must be a positive integer", () => {
  for (const bad of [0, -4, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, blockSizeTokens: bad }), "blockSizeTokens", /must be a positive integer/);
  }
  throwsNaming(() => describeHashSpec({ blockSizeTokens: 0 }), "blockSizeTokens", /positive integer/);
});

test("kvcache hash - seeds and parents must be u64", () => {
  throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, seed: -1n }), "seed", /must be a bigint in \[0, 2\^64\)/);
  throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, seed: 2n ** 64n }), "seed", /got 18446744073709551616$/);
  throwsNaming(() => blockHash(2n ** 64n, [1], []), "parent", /2\^64/);
  throwsNaming(() => describeHashSpec({ blockSizeTokens: 16, seed: -5n }), "seed", /got -5$/);
});

test("kvcache hash - the model id must be non-empty and keys must be well-formed Unicode", () => {
  throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, modelId: "" }), "modelId", /must not be empty/);
  throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, modelId: "m\uD800" }), "modelId", /lone surrogate/);
  throwsNaming(() => prefixBlockHashes([1], { ...OPTIONS, cacheSalt: "\uDC00x" }), "cacheSalt", /lone surrogate/);
  throwsNaming(() => canonicalBlockBytes(0n, [], ["ok", "bad\uDBFF"]), "extraKeys[1]", /lone surrogate/);
  // A proper surrogate pair is fine.
  assert.equal(prefixBlockHashes([1, 2, 3, 4], { ...OPTIONS, cacheSalt: "🔑" }).length, 1);
});

test("kvcache hash - describeHashSpec gives the algorithm, seed and block size for WorkerInfo", () => {
  assert.deepEqual(describeHashSpec({ blockSizeTokens: 16 }), { algorithm: "sha256-trunc64/v1", seed: 0n, blockSizeTokens: 16 });
  const spec = describeHashSpec({ blockSizeTokens: 32, seed: 9n });
  assert.deepEqual(spec, { algorithm: "sha256-trunc64/v1", seed: 9n, blockSizeTokens: 32 });
  assert.ok(Object.isFrozen(spec));
});
