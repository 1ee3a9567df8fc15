/**
 * Hand-assembles safetensors bytes for tests, independently of the writer:
 * the header text goes in exactly as given (no padding unless asked), so tests
 * can produce odd alignments, wrong lengths and broken JSON on purpose.
 */

/** Bytes of `header` (UTF-8), prefixed by its length, followed by `data`. */
export function buildFile(
  header: string | Uint8Array,
  data: readonly number[] | Uint8Array,
  options: { declaredHeaderBytes?: bigint } = {},
): Uint8Array {
  const headerBytes = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const file = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(file.buffer).setBigUint64(0, options.declaredHeaderBytes ?? BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  file.set(data, 8 + headerBytes.length);
  return file;
}

/** Little-endian bytes of f32 values. */
export function f32Bytes(...values: number[]): number[] {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return [...bytes];
}

/** Little-endian bytes of 16-bit patterns. */
export function u16Bytes(...patterns: number[]): number[] {
  return patterns.flatMap((pattern) => [pattern & 0xff, pattern >>> 8]);
}

/** The bit patterns of f32 values, for exact (NaN- and -0-aware) comparison. */
export function bitsOf(values: Float32Array): number[] {
  return [...new Uint32Array(values.buffer, values.byteOffset, values.length)];
}
