/**
 * Bit casts between f32 values and their IEEE 754 bit patterns, shared by the
 * f16 and bf16 converters. Scalars go through one module-level scratch slot (no
 * allocation per call); bulk paths view a whole Float32Array as a Uint32Array
 * over the same memory, which is always legal because a Float32Array is 4-byte
 * aligned by construction.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The f32 bit pattern of `x` after rounding it to f32 (as a Float32Array store does). */
export function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0] ?? 0;
}

/** The f32 value whose bit pattern is `bits` (a uint32). */
export function float32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0] ?? 0;
}

/** The same memory as `values`, one uint32 bit pattern per element. */
export function uint32View(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Throws when a caller-provided output array has the wrong length. */
export function checkOutputLength(what: string, inputLength: number, outputLength: number): void {
  if (inputLength !== outputLength) {
    throw new RangeError(`${what}: output has ${outputLength} elements, input has ${inputLength}`);
  }
}
