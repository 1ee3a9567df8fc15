/**
 * Serialises f32 tensors to a safetensors file, deterministically: the same
 * tensors, dtype and metadata always give byte-identical output. Tensors are
 * laid out in code-point (= UTF-8 byte) order of their names, contiguously
 * from offset 0, and the header lists `__metadata__` first (keys in the same
 * order; omitted when there is none) and then the tensors in layout order,
 * each as `{"dtype","shape","data_offsets"}` in that key order, as compact
 * JSON. That is the official writer's layout for a single-dtype file (it sorts
 * by dtype alignment, then by name). The header is padded with spaces so the
 * data buffer starts at a multiple of 8 bytes, as the official writer does.
 */

import { type Tensor, type TensorMap, elementCount } from "../tensor.js";
import { encodeBf16 } from "./bfloat16.js";
import { littleEndianInPlace } from "./byte-order.js";
import { compareCodePoints } from "./compare-code-points.js";
import { SafetensorsError } from "./errors.js";
import { encodeF16 } from "./float16.js";
import { HEADER_LENGTH_PREFIX_BYTES, METADATA_KEY } from "./parse-header.js";
import { HEADER_DTYPE_NAMES, STORED_DTYPE_BYTES, type StoredDtype, isStoredDtype } from "./stored-dtype.js";

/** The data buffer starts at a multiple of this many bytes. */
export const DATA_ALIGNMENT_BYTES = 8;
/** Header padding byte: an ASCII space, which JSON ignores. */
const HEADER_PAD_BYTE = 0x20;

/** How `writeSafetensors` stores the tensors. */
export interface WriteSafetensorsOptions {
  /** Every tensor is stored in this dtype (rounded to nearest even for f16/bf16). */
  readonly dtype: StoredDtype;
  /** Free-form strings stored under `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A tensor placed in the data buffer. */
interface Placed {
  readonly name: string;
  readonly tensor: Tensor;
  readonly beginByte: number;
  readonly endByte: number;
}

/** The bytes of a safetensors file holding `tensors`. Throws `SafetensorsError` on inconsistent input. */
export function writeSafetensors(tensors: TensorMap, options: WriteSafetensorsOptions): Uint8Array {
  const { dtype } = options;
  if (!isStoredDtype(dtype)) {
    throw new SafetensorsError(`dtype must be "f32", "f16" or "bf16", got ${JSON.stringify(dtype)}`, {
      reason: "invalid-input",
    });
  }
  const placed = place(tensors, STORED_DTYPE_BYTES[dtype]);
  const header = encodeHeader(placed, dtype, options.metadata ?? {});
  const dataStartByte = HEADER_LENGTH_PREFIX_BYTES + header.length;
  const file = new Uint8Array(dataStartByte + (placed.at(-1)?.endByte ?? 0));
  new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
  file.set(header, HEADER_LENGTH_PREFIX_BYTES);
  for (const { tensor, beginByte, endByte } of placed) {
    const target = file.subarray(dataStartByte + beginByte, dataStartByte + endByte);
    writeData(tensor.data, dtype, target);
  }
  return file;
}

/** Validates every tensor and assigns contiguous offsets in name order. */
function place(tensors: TensorMap, bytesPerElement: number): Placed[] {
  const names = [...tensors.keys()].sort(compareCodePoints);
  const placed: Placed[] = [];
  let cursor = 0;
  for (const name of names) {
    const tensor = tensors.get(name) as Tensor;
    checkTensor(name, tensor);
    const endByte = cursor + tensor.data.length * bytesPerElement;
    placed.push({ name, tensor, beginByte: cursor, endByte });
    cursor = endByte;
  }
  return placed;
}

function checkTensor(name: string, tensor: Tensor): void {
  const fail = (problem: string): never => {
    throw new SafetensorsError(`tensor ${JSON.stringify(name)} ${problem}`, { reason: "invalid-input", tensor: name });
  };
  if (name === METADATA_KEY) fail(`cannot be stored: ${METADATA_KEY} is reserved for metadata`);
  if (!tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    fail(`has shape ${JSON.stringify(tensor.shape)}; dims must be non-negative integers`);
  }
  const expected = elementCount(tensor.shape);
  if (tensor.data.length !== expected) {
    fail(`has ${tensor.data.length} elements but shape ${JSON.stringify(tensor.shape)} holds ${expected}`);
  }
}

/** The UTF-8 header JSON, padded with spaces to a multiple of the alignment. */
function encodeHeader(
  placed: readonly Placed[],
  dtype: StoredDtype,
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  // NOTE: built by hand rather than by JSON.stringify of an object, because
  // objects put integer-like keys ("0", "12") first whatever the insertion order.
  const entries: string[] = [];
  const metadataKeys = Object.keys(metadata).sort(compareCodePoints);
  if (metadataKeys.length > 0) {
    const items = metadataKeys.map((key) => {
      const value = metadata[key];
      if (typeof value !== "string") {
        throw new SafetensorsError(`metadata ${JSON.stringify(key)} must be a string, got a ${typeof value}`, {
          reason: "invalid-input",
        });
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    entries.push(`${JSON.stringify(METADATA_KEY)}:{${items.join(",")}}`);
  }
  for (const { name, tensor, beginByte, endByte } of placed) {
    const dtypeJson = `"dtype":"${HEADER_DTYPE_NAMES[dtype]}"`;
    const shapeJson = `"shape":${JSON.stringify(tensor.shape)}`;
    const offsetsJson = `"data_offsets":[${beginByte},${endByte}]`;
    entries.push(`${JSON.stringify(name)}:{${dtypeJson},${shapeJson},${offsetsJson}}`);
  }
  const json = new TextEncoder().encode(`{${entries.join(",")}}`);
  const padded = new Uint8Array(Math.ceil(json.length / DATA_ALIGNMENT_BYTES) * DATA_ALIGNMENT_BYTES);
  padded.fill(HEADER_PAD_BYTE);
  padded.set(json);
  return padded;
}

/**
 * Writes one tensor's elements, little-endian, into `target`. `target` is
 * aligned for its element width: the data buffer starts at a multiple of 8 in
 * a fresh buffer and every tensor before it has a whole number of elements.
 */
function writeData(values: Float32Array, dtype: StoredDtype, target: Uint8Array): void {
  if (dtype === "f32") {
    // A byte copy keeps every bit, NaN payloads included.
    target.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    const halves = new Uint16Array(target.buffer, target.byteOffset, values.length);
    if (dtype === "f16") encodeF16(values, halves);
    else encodeBf16(values, halves);
  }
  littleEndianInPlace(target, STORED_DTYPE_BYTES[dtype]);
}
