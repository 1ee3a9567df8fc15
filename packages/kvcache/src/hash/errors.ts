/**
 * Typed errors of the prefix hash. There is one class, `KvHashError`, because
 * every failure is the same kind of bug (the caller passed a value the hash
 * cannot encode); `argument` names the offending argument so a test or a log
 * line can point at it without parsing the message.
 */

/** An argument the canonical encoding cannot represent (a token id out of u32, a bad block size, …). */
export class KvHashError extends Error {
  override readonly name = "KvHashError";
  /** The argument at fault, e.g. `"tokenIds[3]"`, `"blockSizeTokens"`, `"seed"`. */
  readonly argument: string;

  constructor(argument: string, rule: string, options?: { cause?: unknown }) {
    super(`${argument}: ${rule}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.argument = argument;
  }
}
