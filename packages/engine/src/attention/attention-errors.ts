/**
 * Typed errors of the attention kernels. A malformed batch is a caller bug
 * (the batch step built a block table that disagrees with the pools), so it
 * throws; a missing native addon is not an error but a fallback (see
 * create-attention-kernel.ts), reported as `NativeAttentionUnavailableError`
 * only when the caller insisted on the native kernel.
 */

/** An attend() input is inconsistent: a length, an index or a shape field. Nothing was written. */
export class AttentionInputError extends Error {
  override readonly name = "AttentionInputError";

  constructor(
    /** The offending field, as named in AttentionShape / AttentionBatch / AttentionArenas. */
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`attention input ${field}: ${message}`, options);
  }
}

/** The native kernel was requested but cannot be loaded on this machine. */
export class NativeAttentionUnavailableError extends Error {
  override readonly name = "NativeAttentionUnavailableError";

  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`native attention kernel unavailable: ${reason}`, options);
  }
}
