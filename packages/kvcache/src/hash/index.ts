/**
 * @sigmaserve/kvcache/hash — the prefix hash that workers and the router must
 * agree on bit for bit. hash(block) = H(parent, token ids, extra keys), with H
 * = SHA-256 over a canonical encoding truncated to 64 bits
 * ("sha256-trunc64/v1", pinned by golden-vectors.json). Chains start at the
 * seed; the model id keys every block and the tenant's cache salt keys the
 * first. This entry point imports nothing outside src/hash but types, so the
 * router can use it without pulling in the pools.
 */

export { blockHash } from "./block-hash.js";
export { KV_HASH_DOMAIN_TAG, canonicalBlockBytes } from "./canonical-block-bytes.js";
export { KvHashError } from "./errors.js";
export { DEFAULT_KV_HASH_SEED, KV_HASH_ALGORITHM, type KvHashSpec, describeHashSpec } from "./hash-spec.js";
export { prefixBlockHashes } from "./prefix-block-hashes.js";
export { type PrefixHashOptions, blockExtraKeys } from "./prefix-hash-options.js";
export { PrefixHasher } from "./prefix-hasher.js";
