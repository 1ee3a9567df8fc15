/**
 * Incremental hashing of a growing sequence: a request's block hashes as its
 * tokens arrive (prompt chunks, then one token per decode step), without
 * rehashing what is already hashed. Tokens that do not fill a block wait in a
 * small pending buffer; each append returns the hashes of the blocks it
 * completed. After any series of appends, `blockHashes` equals
 * `prefixBlockHashes` of all tokens appended so far.
 */
import type { BlockHash } from "../kv-types.js";
import { hashCanonicalBytes } from "./block-hash.js";
import { encodeBlock } from "./canonical-block-bytes.js";
import { type PrefixHashOptions, type ResolvedPrefixHash, resolvePrefixHashOptions } from "./prefix-hash-options.js";
import { assertTokenIds } from "./validate.js";

export class PrefixHasher {
  readonly #options: ResolvedPrefixHash;
  readonly #hashes: BlockHash[] = [];
  /** Tokens of the partial block, fewer than blockSizeTokens. */
  #pending: number[] = [];

  constructor(options: PrefixHashOptions) {
    this.#options = resolvePrefixHashOptions(options);
  }

  /**
   * Appends tokens and returns the hashes of the blocks they completed, in
   * order (often none). Validates every token first, so a bad id changes nothing.
   */
  append(tokenIds: ArrayLike<number>): BlockHash[] {
    assertTokenIds("tokenIds", tokenIds);
    const size = this.#options.blockSizeTokens;
    const completed: BlockHash[] = [];
    let next = 0;
    while (next < tokenIds.length) {
      if (this.#pending.length === 0 && tokenIds.length - next >= size) {
        // A whole block inside the input: hash it in place, no copy.
        completed.push(this.#hashBlock(tokenIds, next, next + size));
        next += size;
        continue;
      }
      this.#pending.push(tokenIds[next] as number);
      next++;
      if (this.#pending.length === size) {
        completed.push(this.#hashBlock(this.#pending, 0, size));
        this.#pending = [];
      }
    }
    return completed;
  }

  /** Hashes of every full block so far, in chain order (a live view; do not mutate). */
  get blockHashes(): readonly BlockHash[] {
    return this.#hashes;
  }

  /** Tokens appended so far. */
  get numTokens(): number {
    return this.#hashes.length * this.#options.blockSizeTokens + this.#pending.length;
  }

  /** Tokens waiting for their block to fill (0 … blockSizeTokens − 1). */
  get numPendingTokens(): number {
    return this.#pending.length;
  }

  /** The parent of the next block: the last full block's hash, or the seed when there is none. */
  get lastBlockHash(): BlockHash {
    return this.#hashes.at(-1) ?? this.#options.seed;
  }

  #hashBlock(tokenIds: ArrayLike<number>, start: number, end: number): BlockHash {
    const keys = this.#hashes.length === 0 ? this.#options.firstBlockKeys : this.#options.laterBlockKeys;
    const hash = hashCanonicalBytes(encodeBlock(this.lastBlockHash, tokenIds, start, end, keys));
    this.#hashes.push(hash);
    return hash;
  }
}
