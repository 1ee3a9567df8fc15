/**
 * One-shot hashing of a whole prompt: the hash of every full block, in chain
 * order. A partial last block gets no hash (it cannot be shared until full).
 */
import type { BlockHash } from "../kv-types.js";
import { hashCanonicalBytes } from "./block-hash.js";
import { encodeBlock } from "./canonical-block-bytes.js";
import { type PrefixHashOptions, resolvePrefixHashOptions } from "./prefix-hash-options.js";
import { assertTokenIds } from "./validate.js";

/** Hashes of the ⌊tokenIds.length / blockSizeTokens⌋ full blocks of `tokenIds`. */
export function prefixBlockHashes(tokenIds: ArrayLike<number>, options: PrefixHashOptions): BlockHash[] {
  const resolved = resolvePrefixHashOptions(options);
  // NOTE: the partial tail is validated too: a bad token id is a bug wherever it sits.
  assertTokenIds("tokenIds", tokenIds);
  const size = resolved.blockSizeTokens;
  const fullBlocks = Math.floor(tokenIds.length / size);
  const hashes: BlockHash[] = [];
  let parent = resolved.seed;
  for (let block = 0; block < fullBlocks; block++) {
    const keys = block === 0 ? resolved.firstBlockKeys : resolved.laterBlockKeys;
    parent = hashCanonicalBytes(encodeBlock(parent, tokenIds, block * size, (block + 1) * size, keys));
    hashes.push(parent);
  }
  return hashes;
}
