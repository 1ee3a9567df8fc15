/**
 * Argument checks shared by the hash entry points. Each throws `KvHashError`
 * naming the argument; none of them copies or converts, so a value that passes
 * is encoded exactly as given.
 */
import { KvHashError } from "./errors.js";

/** Largest u32: token ids, counts and byte lengths are encoded as u32. */
export const MAX_U32 = 0xffff_ffff;
/** Largest u64: parents, seeds and hashes are u64. */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** A lone UTF-16 surrogate: UTF-8 cannot encode it (encoders substitute U+FFFD, which would collide). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function assertU64(argument: string, value: bigint): void {
  if (typeof value !== "bigint" || value < 0n || value > MAX_U64) {
    throw new KvHashError(argument, `must be a bigint in [0, 2^64), got ${String(value)}`);
  }
}

export function assertTokenIds(argument: string, tokenIds: ArrayLike<number>): void {
  for (let i = 0; i < tokenIds.length; i++) {
    const id = tokenIds[i];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_U32) {
      throw new KvHashError(`${argument}[${i}]`, `token ids must be integers in [0, 2^32), got ${String(id)}`);
    }
  }
}

export function assertBlockSize(argument: string, blockSizeTokens: number): void {
  if (!Number.isInteger(blockSizeTokens) || blockSizeTokens < 1 || blockSizeTokens > MAX_U32) {
    throw new KvHashError(argument, `must be a positive integer, got ${String(blockSizeTokens)}`);
  }
}

/** A string the encoding can take: a well-formed UTF-16 string (and non-empty when `nonEmpty`). */
export function assertKeyString(argument: string, value: string, nonEmpty: boolean): void {
  if (typeof value !== "string") throw new KvHashError(argument, `must be a string, got ${typeof value}`);
  if (nonEmpty && value.length === 0) throw new KvHashError(argument, "must not be empty");
  if (LONE_SURROGATE.test(value)) throw new KvHashError(argument, "must be well-formed Unicode (it holds a lone surrogate)");
}
