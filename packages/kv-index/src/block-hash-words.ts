/**
 * Block hashes as u32 words, the form the index stores them in. The bus
 * decoder (@sigmaserve/coord's KV-event reader) reads a batch's packed
 * fixed64 `block_hashes` straight off the wire into a Uint32Array (lo, hi
 * per hash, little-endian word order) and attaches it to each decoded event
 * (and snapshot group) as the non-enumerable property `blockHashWords`; its
 * `blockHashes` then stay unmaterialised until someone reads them. The index
 * consumes the words when they are there and never creates a BigInt per hash.
 *
 * NOTE: the two packages may not import each other, so the property name is
 * the contract, pinned by a test on each side (coord: the decoder attaches
 * words equal to the hashes; here: an event carrying words is applied from
 * them). An object without it (a literal batch, a snapshot built in a test)
 * is read from its bigints as before.
 */
export const BLOCK_HASH_WORDS_PROPERTY = "blockHashWords";

/** The packed words attached to an event or a residency group, if any. */
export function blockHashWordsOf(carrier: object): Uint32Array | undefined {
  const words = (carrier as { [BLOCK_HASH_WORDS_PROPERTY]?: unknown })[BLOCK_HASH_WORDS_PROPERTY];
  return words instanceof Uint32Array ? words : undefined;
}
