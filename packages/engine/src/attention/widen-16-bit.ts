/**
 * 16-bit K/V elements widened to f32, exactly, for the JS kernel: one lookup
 * in a 256 KiB table of all 65536 bit patterns per element (built on first
 * use, once per type). bf16 is the top half of an f32, so its f32 bits are
 * `bits << 16`; f16 (IEEE binary16: 1 sign, 5 exponent bits with bias 15, 10
 * mantissa bits) is rebiased into f32's exponent, subnormals normalised. NaN
 * stays NaN (the JS kernel's arithmetic is f64, where NaN has no payload).
 * The native kernel widens in registers (native/src/element_types.h); both
 * are exact, so both see the same f32 values.
 */
import type { KvElementType } from "./attention-kernel.js";

/** Distinct 16-bit patterns. */
const PATTERN_COUNT = 0x10000;
/** (127 − 15) << 23: adding it to an f16 exponent field shifted into f32's place rebiases it. */
const EXPONENT_REBIAS = 0x38000000;
/** Mantissa bits f32 has and f16 lacks (23 − 10). */
const MANTISSA_SHIFT = 13;

/** f16 bit pattern → f32 bit pattern (uint32), exact. */
export function f32BitsOfF16Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << MANTISSA_SHIFT)) >>> 0;
  if (exponent !== 0) return (sign | ((((exponent << 10) | mantissa) << MANTISSA_SHIFT) + EXPONENT_REBIAS)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal, mantissa × 2^-24: shift the leading one up to bit 10, one exponent step per shift.
  let f32Exponent = 127 - 14;
  let normalized = mantissa;
  while ((normalized & 0x400) === 0) {
    normalized <<= 1;
    f32Exponent -= 1;
  }
  return (sign | (f32Exponent << 23) | ((normalized & 0x3ff) << MANTISSA_SHIFT)) >>> 0;
}

const tables = new Map<KvElementType, Float32Array>();

/** The f32 value of every bit pattern of a 16-bit type (index = the bits). */
export function widenTable(type: "bf16" | "f16"): Float32Array {
  let table = tables.get(type);
  if (table === undefined) {
    const bits = new Uint32Array(PATTERN_COUNT);
    for (let i = 0; i < PATTERN_COUNT; i++) bits[i] = type === "bf16" ? (i << 16) >>> 0 : f32BitsOfF16Bits(i);
    table = new Float32Array(bits.buffer);
    tables.set(type, table);
  }
  return table;
}

/** Writes the f32 values of `src[at … at+n-1]` (16-bit patterns) into `into[0 … n-1]`. */
export function widenInto(into: Float32Array, src: Uint16Array, at: number, n: number, table: Float32Array): void {
  for (let i = 0; i < n; i++) into[i] = table[src[at + i]!]!;
}
