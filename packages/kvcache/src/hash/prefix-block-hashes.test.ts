import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { blockHash } from "./block-hash.js";
import { prefixBlockHashes } from "./prefix-block-hashes.js";
import { blockExtraKeys } from "./prefix-hash-options.js";
import { referencePrefixHashes } from "./testing/reference-hash.js";

const MODEL = "llama-3-8b";
const TOKENS = Array.from({ length: 64 }, (_, i) => 1000 + i);

test("kvcache hash - a different tenant salt changes the first block's hash and so every later one", () => {
  const a = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL, cacheSalt: "tenant-a" });
  const b = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL, cacheSalt: "tenant-b" });
  const shared = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL });
  assert.equal(a.length, 4);
  for (let i = 0; i < 4; i++) {
    assert.notEqual(a[i], b[i]);
    assert.notEqual(a[i], shared[i]);
    assert.notEqual(b[i], shared[i]);
  }
});

test("kvcache hash - the same salt gives the same chain, so a tenant shares its own prefixes", () => {
  const options = { blockSizeTokens: 16, modelId: MODEL, cacheSalt: "tenant-a" };
  assert.deepEqual(prefixBlockHashes(TOKENS, options), prefixBlockHashes(TOKENS, { ...options }));
  // A longer prompt with the same start extends the chain; it does not change it.
  const longer = prefixBlockHashes([...TOKENS, ...TOKENS], options);
  assert.deepEqual(longer.slice(0, 4), prefixBlockHashes(TOKENS, options));
});

test("kvcache hash - an empty salt is the shared namespace: no salt key, the same as no salt", () => {
  const absent = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL });
  assert.deepEqual(prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL, cacheSalt: "" }), absent);
  assert.equal(absent[0], blockHash(0n, TOKENS.slice(0, 16), [MODEL]));
  assert.deepEqual(blockExtraKeys(MODEL, "", 0), [MODEL]);
  assert.deepEqual(blockExtraKeys(MODEL, "s", 0), [MODEL, "s"]);
  assert.deepEqual(blockExtraKeys(MODEL, "s", 1), [MODEL]);
});

test("kvcache hash - the salt keys only the first block; later blocks carry just the model id", () => {
  const [first, second] = prefixBlockHashes(TOKENS.slice(0, 32), { blockSizeTokens: 16, modelId: MODEL, cacheSalt: "t" });
  assert.equal(first, blockHash(0n, TOKENS.slice(0, 16), [MODEL, "t"]));
  assert.equal(second, blockHash(first ?? 0n, TOKENS.slice(16, 32), [MODEL]));
});

test("kvcache hash - a different model or seed changes every block", () => {
  const base = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL });
  const otherModel = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: "mistral-7b" });
  const otherSeed = prefixBlockHashes(TOKENS, { blockSizeTokens: 16, modelId: MODEL, seed: 1n });
  base.forEach((hash, i) => {
    assert.notEqual(hash, otherModel[i]);
    assert.notEqual(hash, otherSeed[i]);
  });
});

test("kvcache hash - changing a token in block i changes the hashes of blocks i and after, and none before", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 4, maxLength: 60 }),
      fc.integer({ min: 1, max: 8 }),
      fc.nat(),
      fc.integer({ min: 1, max: 0xffff_ffff }),
      (tokens, blockSizeTokens, position, delta) => {
        const fullBlocks = Math.floor(tokens.length / blockSizeTokens);
        fc.pre(fullBlocks > 0);
        const index = position % (fullBlocks * blockSizeTokens);
        const changed = [...tokens];
        changed[index] = ((tokens[index] ?? 0) + delta) % 2 ** 32;
        const options = { blockSizeTokens, modelId: MODEL, cacheSalt: "t" };
        const before = prefixBlockHashes(tokens, options);
        const after = prefixBlockHashes(changed, options);
        const block = Math.floor(index / blockSizeTokens);
        assert.deepEqual(after.slice(0, block), before.slice(0, block));
        for (let i = block; i < fullBlocks; i++) assert.notEqual(after[i], before[i]);
      },
    ),
    { numRuns: 200 },
  );
});

test("kvcache hash - a partial last block gets no hash, and changing its tokens changes nothing", () => {
  const options = { blockSizeTokens: 4, modelId: MODEL };
  assert.deepEqual(prefixBlockHashes([], options), []);
  assert.deepEqual(prefixBlockHashes([1, 2, 3], options), []);
  const full = prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 8], options);
  assert.equal(full.length, 2);
  assert.deepEqual(prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], options), full);
  assert.deepEqual(prefixBlockHashes([1, 2, 3, 4, 5, 6, 7, 8, 99, 98, 97], options), full);
});

test("kvcache hash - prefixBlockHashes equals the DataView reference on random inputs, Unicode keys included", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 40 }),
      fc.integer({ min: 1, max: 9 }),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (tokens, blockSizeTokens, modelId, cacheSalt, seed) => {
        assert.deepEqual(
          prefixBlockHashes(new Uint32Array(tokens), { blockSizeTokens, modelId, cacheSalt, seed }),
          referencePrefixHashes(tokens, blockSizeTokens, modelId, cacheSalt, seed),
        );
      },
    ),
    { numRuns: 200 },
  );
});
