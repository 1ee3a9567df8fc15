/**
 * Typed errors of the KV transfer format. There is one class,
 * `KvTransferError`, because every broken frame has the same handling (drop
 * the frame, recompute its blocks); `reason` says which check failed so callers
 * and tests branch on it without parsing the message. A corrupt block inside
 * an otherwise sound frame is not an error: it is refused (see decode-kv-frame.ts).
 */

/** Which check failed. One value per distinct problem a frame or an input can have. */
export type KvTransferErrorReason =
  /** The first four bytes are not "SKV1". */
  | "bad-magic"
  /** A format version this reader does not know. */
  | "unsupported-version"
  /** A component code other than 0 (K) or 1 (V). */
  | "unknown-component"
  /** A wire dtype code other than 0 (f32), 1 (f16) or 2 (bf16). */
  | "unknown-dtype"
  /** Fewer bytes than the header, the block table or the payloads need. */
  | "truncated"
  /** Bytes after the last payload. */
  | "trailing-bytes"
  /** The header or the block table fails its checksum: no offset or hash in it can be trusted. */
  | "table-checksum"
  /** A shape dimension is zero, or the stored payload size disagrees with shape × dtype width. */
  | "inconsistent-lengths"
  /** The frame is sound but holds another component than the caller expected. */
  | "component-mismatch"
  /** The frame is sound but its shape differs from the caller's. */
  | "shape-mismatch"
  /** The encoder's input is wrong: a block of the wrong length, a hash out of range, a bad shape. */
  | "invalid-input"
  /** The frame would not fit the format's u32 fields or one Node buffer. */
  | "too-large"
  /** A destination array given to decodeKvFrameInto has the wrong length, or is not the array type of its dtype. */
  | "destination-length";

/** A KV frame (or the input to encode one) is not usable. The message names the problem. */
export class KvTransferError extends Error {
  override readonly name = "KvTransferError";
  /** Which check failed. */
  readonly reason: KvTransferErrorReason;

  constructor(message: string, options: { reason: KvTransferErrorReason; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason;
  }
}
