/**
 * Loads a safetensors file into f32 tensors. The header is parsed and fully
 * validated first (`parseSafetensorsHeader`), so by the time any typed array
 * is created every offset is known to lie inside the file. Each tensor gets
 * its own freshly allocated Float32Array: the result never aliases the input
 * bytes, so the caller may drop or reuse the file buffer. f16/bf16 data is
 * widened to f32 exactly; `storedDtypes` records what each tensor was stored
 * as, so a caller can compare against a reference run on rounded weights.
 */

import { type TensorMap, elementCount } from "../tensor.js";
import { decodeBf16 } from "./bfloat16.js";
import { littleEndianInPlace, HOST_IS_LITTLE_ENDIAN } from "./byte-order.js";
import { decodeF16 } from "./float16.js";
import { type HeaderTensor, parseSafetensorsHeader } from "./parse-header.js";
import type { StoredDtype } from "./stored-dtype.js";

/** What a safetensors file holds, with every tensor converted to f32. */
export interface SafetensorsContents {
  /** Every tensor, in file order (ascending data offsets). */
  readonly tensors: TensorMap;
  /** The dtype each tensor was stored as, by name. */
  readonly storedDtypes: Map<string, StoredDtype>;
  /** The header's `__metadata__` map, or `{}` when it has none. */
  readonly metadata: Record<string, string>;
}

/** Parses a whole safetensors file. Throws `SafetensorsError` when it is not valid. */
export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  const header = parseSafetensorsHeader(bytes);
  const tensors: TensorMap = new Map();
  const storedDtypes = new Map<string, StoredDtype>();
  for (const entry of header.tensors) {
    const raw = bytes.subarray(header.dataStartByte + entry.beginByte, header.dataStartByte + entry.endByte);
    tensors.set(entry.name, { shape: entry.shape, data: toFloat32(entry, raw) });
    storedDtypes.set(entry.name, entry.dtype);
  }
  return { tensors, storedDtypes, metadata: header.metadata };
}

/** Converts one tensor's little-endian bytes (length already checked) to f32. */
function toFloat32(entry: HeaderTensor, raw: Uint8Array): Float32Array {
  const count = elementCount(entry.shape);
  if (entry.dtype === "f32") {
    // A byte copy into a fresh array: correct at any alignment of `raw`.
    const values = new Float32Array(count);
    const valueBytes = new Uint8Array(values.buffer);
    valueBytes.set(raw);
    littleEndianInPlace(valueBytes, 4);
    return values;
  }
  const halves = uint16Of(raw, count);
  return entry.dtype === "f16" ? decodeF16(halves) : decodeBf16(halves);
}

/**
 * The 16-bit elements of `raw` in host order. A zero-copy view when `raw`
 * starts on an even address (it is only read, then dropped); otherwise, or on
 * a big-endian host, a copy, because a misaligned Uint16Array view throws.
 */
function uint16Of(raw: Uint8Array, count: number): Uint16Array {
  if (HOST_IS_LITTLE_ENDIAN && raw.byteOffset % Uint16Array.BYTES_PER_ELEMENT === 0) {
    return new Uint16Array(raw.buffer, raw.byteOffset, count);
  }
  const copy = raw.slice();
  littleEndianInPlace(copy, Uint16Array.BYTES_PER_ELEMENT);
  return new Uint16Array(copy.buffer, 0, count);
}
