/**
 * Parses and validates the header of a safetensors file, without touching the
 * tensor data. A file is an 8-byte little-endian u64 header length N, N bytes
 * of UTF-8 JSON, then the data buffer. The JSON maps each tensor name to
 * `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data
 * buffer) plus an optional `__metadata__` string→string map. Every check that
 * can fail is done here, before any typed array is created, so a bad file ends
 * in a `SafetensorsError` that names the problem and never in a RangeError:
 * the tensors must tile the data buffer exactly (no overlaps, no holes, no
 * trailing bytes, nothing past the end of the file) and each must span exactly
 * elementCount(shape) × dtype-size bytes.
 */

import { elementCount } from "../tensor.js";
import { SafetensorsError } from "./errors.js";
import { STORED_DTYPE_BYTES, type StoredDtype, storedDtypeFromHeaderName } from "./stored-dtype.js";

/** Bytes of the little-endian u64 header-length prefix. */
export const HEADER_LENGTH_PREFIX_BYTES = 8;
/**
 * Largest header accepted, in bytes. NOTE: the same limit as the official
 * implementation (100 MB), so a corrupt length is refused before decoding.
 */
export const MAX_HEADER_BYTES = 100_000_000;
/** The reserved header key holding the free-form string metadata. */
export const METADATA_KEY = "__metadata__";

/** One tensor as the header describes it. */
export interface HeaderTensor {
  readonly name: string;
  readonly dtype: StoredDtype;
  readonly shape: readonly number[];
  /** First byte, relative to the start of the data buffer. */
  readonly beginByte: number;
  /** One past the last byte, relative to the start of the data buffer. */
  readonly endByte: number;
}

/** A validated header. */
export interface ParsedHeader {
  /** Where the data buffer starts in the file: 8 + header length. */
  readonly dataStartByte: number;
  /** Every tensor, in file order (ascending offsets; ties by name). */
  readonly tensors: readonly HeaderTensor[];
  /** The `__metadata__` map, or `{}` when the file has none. */
  readonly metadata: Record<string, string>;
}

/** Reads and checks the header of `bytes`, a whole safetensors file. */
export function parseSafetensorsHeader(bytes: Uint8Array): ParsedHeader {
  const headerBytes = readHeaderLength(bytes);
  const dataStartByte = HEADER_LENGTH_PREFIX_BYTES + headerBytes;
  const json = decodeHeaderJson(bytes.subarray(HEADER_LENGTH_PREFIX_BYTES, dataStartByte));
  let metadata: Record<string, string> = {};
  const tensors: HeaderTensor[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === METADATA_KEY) metadata = parseMetadata(value);
    else tensors.push(parseTensorEntry(key, value));
  }
  tensors.sort((a, b) => a.beginByte - b.beginByte || a.endByte - b.endByte || (a.name < b.name ? -1 : 1));
  checkLayout(tensors, bytes.length - dataStartByte);
  return { dataStartByte, tensors, metadata };
}

function readHeaderLength(bytes: Uint8Array): number {
  if (bytes.length < HEADER_LENGTH_PREFIX_BYTES) {
    throw new SafetensorsError(
      `file is ${bytes.length} bytes, shorter than the ${HEADER_LENGTH_PREFIX_BYTES}-byte header length`,
      { reason: "file-too-short" },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LENGTH_PREFIX_BYTES);
  const declared = view.getBigUint64(0, true);
  const available = bytes.length - HEADER_LENGTH_PREFIX_BYTES;
  if (declared > BigInt(available) || declared > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      `header length ${declared} is larger than the ${available} bytes after the length prefix` +
        (declared > BigInt(MAX_HEADER_BYTES) ? ` (and than the ${MAX_HEADER_BYTES}-byte limit)` : ""),
      { reason: "header-too-large" },
    );
  }
  return Number(declared);
}

function decodeHeaderJson(headerBytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (cause) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(cause as Error).message}`, {
      reason: "header-not-json",
      cause,
    });
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError(`header must be a JSON object, got ${describe(parsed)}`, {
      reason: "header-not-json",
    });
  }
  return parsed;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(`${METADATA_KEY} must be an object, got ${describe(value)}`, {
      reason: "invalid-entry",
    });
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new SafetensorsError(
        `${METADATA_KEY} must map strings to strings; key ${JSON.stringify(key)} holds ${describe(item)}`,
        { reason: "invalid-entry" },
      );
    }
  }
  // NOTE: fromEntries defines properties, so a key like "__proto__" stays data.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseTensorEntry(name: string, value: unknown): HeaderTensor {
  const fail = (problem: string): never => {
    throw new SafetensorsError(`tensor ${JSON.stringify(name)} ${problem}`, { reason: "invalid-entry", tensor: name });
  };
  if (!isPlainObject(value)) return fail(`must be an object, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype === undefined) return fail("has no dtype");
  if (shape === undefined) return fail("has no shape");
  if (offsets === undefined) return fail("has no data_offsets");
  if (typeof dtype !== "string") return fail(`dtype must be a string, got ${describe(dtype)}`);
  if (!isIndexArray(shape)) {
    return fail(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const [beginByte = 0, endByte = 0] = isIndexArray(offsets) ? offsets : [];
  if (!isIndexArray(offsets) || offsets.length !== 2 || beginByte > endByte) {
    return fail(`data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const stored = storedDtypeFromHeaderName(dtype);
  if (stored === undefined) {
    throw new SafetensorsError(
      `tensor ${JSON.stringify(name)} has dtype ${dtype}; only F32, F16 and BF16 are supported`,
      { reason: "unsupported-dtype", tensor: name },
    );
  }
  const expectedBytes = elementCount(shape) * STORED_DTYPE_BYTES[stored];
  if (expectedBytes !== endByte - beginByte) {
    throw new SafetensorsError(
      `tensor ${JSON.stringify(name)} of shape ${JSON.stringify(shape)} and dtype ${dtype} needs ` +
        `${expectedBytes} bytes, but data_offsets [${beginByte}, ${endByte}] span ${endByte - beginByte}`,
      { reason: "byte-length-mismatch", tensor: name },
    );
  }
  return { name, dtype: stored, shape, beginByte, endByte };
}

/** Checks that `tensors` (sorted by offset) tile [0, dataBytes) exactly. */
function checkLayout(tensors: readonly HeaderTensor[], dataBytes: number): void {
  let cursor = 0;
  let previous: HeaderTensor | undefined;
  for (const tensor of tensors) {
    const quoted = JSON.stringify(tensor.name);
    if (previous !== undefined && tensor.beginByte < cursor) {
      // Sorted by offset and checked so far, so `previous` ends at `cursor`.
      throw new SafetensorsError(
        `tensor ${quoted} data_offsets [${tensor.beginByte}, ${tensor.endByte}] overlap tensor ` +
          `${JSON.stringify(previous.name)} [${previous.beginByte}, ${previous.endByte}]`,
        { reason: "overlapping-data", tensor: tensor.name },
      );
    }
    if (tensor.beginByte > cursor) {
      const after = previous === undefined ? "at the start" : `after tensor ${JSON.stringify(previous.name)}`;
      throw new SafetensorsError(
        `hole in the data buffer: bytes [${cursor}, ${tensor.beginByte}) ${after} belong to no tensor ` +
          `(tensor ${quoted} starts at ${tensor.beginByte})`,
        { reason: "hole-in-data", tensor: tensor.name },
      );
    }
    if (tensor.endByte > dataBytes) {
      const lastEnd = tensors.at(-1)?.endByte ?? tensor.endByte;
      const tensorBytes = tensor.endByte - tensor.beginByte;
      const missing = Math.min(tensorBytes, tensor.endByte - dataBytes);
      throw new SafetensorsError(
        `file is truncated: tensor ${quoted} needs data bytes [${tensor.beginByte}, ${tensor.endByte}) but ` +
          `the data buffer holds only ${dataBytes} bytes; ${missing} of its ${tensorBytes} bytes are missing ` +
          `(the file is ${lastEnd - dataBytes} bytes short)`,
        { reason: "truncated", tensor: tensor.name },
      );
    }
    cursor = tensor.endByte;
    previous = tensor;
  }
  if (cursor < dataBytes) {
    const after =
      previous === undefined ? "(the header lists no tensors)" : `after tensor ${JSON.stringify(previous.name)}`;
    throw new SafetensorsError(
      `${dataBytes - cursor} trailing bytes [${cursor}, ${dataBytes}) of the data buffer belong to no tensor ${after}`,
      { reason: "trailing-bytes" },
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An array of non-negative safe integers (shape dims, byte offsets). */
function isIndexArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => Number.isSafeInteger(item) && (item as number) >= 0);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
