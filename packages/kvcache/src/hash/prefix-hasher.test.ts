import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { KvHashError } from "./errors.js";
import { prefixBlockHashes } from "./prefix-block-hashes.js";
import { PrefixHasher } from "./prefix-hasher.js";

const OPTIONS = { blockSizeTokens: 4, modelId: "llama-3-8b", cacheSalt: "tenant-a", seed: 7n };

test("kvcache hash - PrefixHasher fed in random splits equals the one-shot hashes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 80 }),
      fc.array(fc.nat({ max: 12 }), { maxLength: 20 }),
      fc.integer({ min: 1, max: 9 }),
      (tokens, cuts, blockSizeTokens) => {
        const options = { ...OPTIONS, blockSizeTokens };
        const hasher = new PrefixHasher(options);
        const yielded: bigint[] = [];
        let at = 0;
        for (const cut of [...cuts, tokens.length]) {
          const piece = tokens.slice(at, at + cut);
          at += piece.length;
          const fresh = hasher.append(piece);
          yielded.push(...fresh);
          // After every append the hasher matches the one-shot hash of the prefix so far.
          assert.deepEqual(hasher.blockHashes, prefixBlockHashes(tokens.slice(0, at), options));
          assert.equal(hasher.numTokens, at);
          assert.equal(hasher.numPendingTokens, at % blockSizeTokens);
        }
        assert.deepEqual(yielded, prefixBlockHashes(tokens, options));
      },
    ),
    { numRuns: 300 },
  );
});

test("kvcache hash - a decode step yields a hash exactly when it fills a block", () => {
  const hasher = new PrefixHasher(OPTIONS);
  assert.deepEqual(hasher.append([1, 2, 3, 4, 5, 6]), prefixBlockHashes([1, 2, 3, 4], OPTIONS));
  assert.equal(hasher.lastBlockHash, hasher.blockHashes[0]);
  assert.deepEqual(hasher.append([7]), []);
  const [second] = hasher.append([8]);
  assert.equal(second, prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 8], OPTIONS)[1]);
  assert.equal(hasher.lastBlockHash, second);
  assert.equal(hasher.numPendingTokens, 0);
});

test("kvcache hash - a new PrefixHasher's parent is the seed", () => {
  assert.equal(new PrefixHasher(OPTIONS).lastBlockHash, 7n);
  assert.equal(new PrefixHasher({ blockSizeTokens: 16, modelId: "m" }).lastBlockHash, 0n);
});

test("kvcache hash - an append with a bad token id throws and leaves the hasher unchanged", () => {
  const hasher = new PrefixHasher(OPTIONS);
  hasher.append([1, 2, 3]);
  assert.throws(() => hasher.append([4, 5, 6, 7, -1]), { name: "KvHashError", argument: "tokenIds[4]" });
  assert.equal(hasher.numTokens, 3);
  assert.deepEqual(hasher.blockHashes, []);
  assert.deepEqual(hasher.append([4]), prefixBlockHashes([1, 2, 3, 4], OPTIONS));
});

test("kvcache hash - PrefixHasher validates its options like prefixBlockHashes", () => {
  assert.throws(() => new PrefixHasher({ ...OPTIONS, blockSizeTokens: 0 }), KvHashError);
  assert.throws(() => new PrefixHasher({ ...OPTIONS, modelId: "" }), { argument: "modelId" });
});
