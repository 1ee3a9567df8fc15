/**
 * Typed errors of the safetensors reader and writer. There is one class,
 * `SafetensorsError`, because every failure has the same handling (the model
 * file is unusable); `reason` says which check failed so callers and tests can
 * branch on it without parsing the message, and `tensor` names the tensor when
 * the problem belongs to one. Messages always name the problem in words.
 */

/** Which check failed. One value per distinct problem a file or input can have. */
export type SafetensorsErrorReason =
  /** Fewer than the 8 bytes of the header-length prefix. */
  | "file-too-short"
  /** The header length is larger than the file, or than `MAX_HEADER_BYTES`. */
  | "header-too-large"
  /** The header is not UTF-8 JSON, or not a JSON object. */
  | "header-not-json"
  /** A header entry (tensor or `__metadata__`) lacks a field or has one of the wrong type. */
  | "invalid-entry"
  /** The tensor's dtype is not one this package converts (F32, F16, BF16). */
  | "unsupported-dtype"
  /** `data_offsets` span a different number of bytes than `shape` × dtype size. */
  | "byte-length-mismatch"
  /** Two tensors claim the same bytes. */
  | "overlapping-data"
  /** Bytes between two tensors (or before the first) belong to no tensor. */
  | "hole-in-data"
  /** A tensor's data runs past the end of the file. */
  | "truncated"
  /** Bytes after the last tensor belong to no tensor. */
  | "trailing-bytes"
  /** The writer's input is inconsistent: data length vs shape, a reserved name, bad options or metadata. */
  | "invalid-input"
  /** The file could not be read or written (the `cause` is the fs error). */
  | "io";

/** A safetensors file (or a tensor map given to the writer) is not valid. */
export class SafetensorsError extends Error {
  override readonly name = "SafetensorsError";
  /** Which check failed. */
  readonly reason: SafetensorsErrorReason;
  /** The tensor the problem belongs to, when it belongs to one. */
  readonly tensor: string | undefined;

  constructor(
    message: string,
    options: { reason: SafetensorsErrorReason; tensor?: string | undefined; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.reason = options.reason;
    this.tensor = options.tensor;
  }
}
