import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { blockHash } from "./block-hash.js";
import { KV_HASH_DOMAIN_TAG, canonicalBlockBytes } from "./canonical-block-bytes.js";
import { KV_HASH_ALGORITHM } from "./hash-spec.js";
import { prefixBlockHashes } from "./prefix-block-hashes.js";
import { PrefixHasher } from "./prefix-hasher.js";
import { fromHex64, hex64, referenceBlockHash, referenceBytes, referencePrefixHashes } from "./testing/reference-hash.js";

interface GoldenVectors {
  algorithm: string;
  domainTag: string;
  prefixCases: {
    name: string;
    modelId: string;
    cacheSalt: string;
    seed: string;
    blockSizeTokens: number;
    tokenIds: number[];
    expected: string[];
  }[];
  blockCases: { name: string; parent: string; tokenIds: number[]; extraKeys: string[]; encodedHex: string; expected: string }[];
}

const PACKAGE_ROOT = join(import.meta.dirname, "..", "..");
const GOLDEN_PATH = join(import.meta.dirname, "golden-vectors.json");
const golden = JSON.parse(readFileSync(GOLDEN_PATH, "utf8")) as GoldenVectors;

test("kvcache hash - golden-vectors.json sits where the package build copies it from", () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: { build: string } };
  assert.match(manifest.scripts.build, /cp src\/hash\/golden-vectors\.json dist\/hash\//);
  assert.equal(GOLDEN_PATH, join(PACKAGE_ROOT, "src", "hash", "golden-vectors.json"));
});

test("kvcache hash - the golden file names this algorithm and domain tag", () => {
  assert.equal(golden.algorithm, KV_HASH_ALGORITHM);
  assert.equal(golden.domainTag, KV_HASH_DOMAIN_TAG);
  assert.equal(golden.prefixCases.length, 12);
  assert.equal(golden.blockCases.length, 4);
});

for (const c of golden.prefixCases) {
  test(`kvcache hash - golden prefix case: ${c.name}`, () => {
    const options = { blockSizeTokens: c.blockSizeTokens, modelId: c.modelId, cacheSalt: c.cacheSalt, seed: fromHex64(c.seed) };
    assert.deepEqual(prefixBlockHashes(c.tokenIds, options).map(hex64), c.expected);
    assert.deepEqual(
      referencePrefixHashes(c.tokenIds, c.blockSizeTokens, c.modelId, c.cacheSalt, fromHex64(c.seed)).map(hex64),
      c.expected,
    );
    const hasher = new PrefixHasher(options);
    hasher.append(c.tokenIds);
    assert.deepEqual(hasher.blockHashes.map(hex64), c.expected);
  });
}

for (const c of golden.blockCases) {
  test(`kvcache hash - golden block case: ${c.name}`, () => {
    const parent = fromHex64(c.parent);
    assert.equal(Buffer.from(canonicalBlockBytes(parent, c.tokenIds, c.extraKeys)).toString("hex"), c.encodedHex);
    assert.equal(Buffer.from(referenceBytes(parent, c.tokenIds, c.extraKeys)).toString("hex"), c.encodedHex);
    assert.equal(hex64(blockHash(parent, c.tokenIds, c.extraKeys)), c.expected);
    assert.equal(hex64(referenceBlockHash(parent, c.tokenIds, c.extraKeys)), c.expected);
  });
}

test("kvcache hash - each block of a golden chain is blockHash of its parent, tokens and extra keys", () => {
  const c = golden.prefixCases.find((entry) => entry.name === "salted tenant: same tokens as the chain above");
  assert.ok(c);
  const [first, second, third] = c.expected.map(fromHex64);
  assert.equal(blockHash(0n, [1, 2, 3, 4], ["llama-3-8b", "tenant-a"]), first);
  assert.equal(blockHash(first ?? 0n, [5, 6, 7, 8], ["llama-3-8b"]), second);
  assert.equal(blockHash(second ?? 0n, [9, 10, 11, 12], ["llama-3-8b"]), third);
});
