/**
 * The element types this package stores and loads. Tensors are f32 in memory
 * whatever they were stored as; a `StoredDtype` only says how a file encodes
 * them. The lower-case names are ours (the writer's option, the reader's
 * report); the upper-case ones are the safetensors header spelling.
 */

/** How a tensor is encoded in a file. */
export type StoredDtype = "f32" | "f16" | "bf16";

/** The safetensors header `dtype` string of each stored dtype. */
export const HEADER_DTYPE_NAMES = {
  f32: "F32",
  f16: "F16",
  bf16: "BF16",
} as const satisfies Record<StoredDtype, string>;

/** Bytes one element takes in a file. */
export const STORED_DTYPE_BYTES = {
  f32: 4,
  f16: 2,
  bf16: 2,
} as const satisfies Record<StoredDtype, number>;

/** The stored dtype a header `dtype` string names, or undefined for any other (I64, F64, …). */
export function storedDtypeFromHeaderName(name: string): StoredDtype | undefined {
  switch (name) {
    case HEADER_DTYPE_NAMES.f32:
      return "f32";
    case HEADER_DTYPE_NAMES.f16:
      return "f16";
    case HEADER_DTYPE_NAMES.bf16:
      return "bf16";
    default:
      return undefined;
  }
}

/** True when `value` is a stored dtype name (for checking untyped options). */
export function isStoredDtype(value: unknown): value is StoredDtype {
  return value === "f32" || value === "f16" || value === "bf16";
}
