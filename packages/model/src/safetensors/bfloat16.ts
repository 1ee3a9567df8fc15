/**
 * bfloat16 ("bf16", safetensors `BF16`) conversions. bf16 is the top 16 bits
 * of an f32: same sign and 8-bit exponent, mantissa cut from 23 bits to 7. So
 * f32 → bf16 is rounding the low 16 bits away, to nearest with ties to even;
 * that one integer add also produces subnormals and overflow to ±Inf (the
 * carry runs into the exponent) correctly and keeps ±0. NaN is special-cased
 * so it can never round into Inf: it keeps its sign and top payload bits and
 * gets the quiet bit. bf16 → f32 is a shift and is exact.
 */

import { checkOutputLength, float32Bits, float32FromBits, uint32View } from "./float-bits.js";

/** f32 magnitude bits above this are NaN. */
const F32_INF_BITS = 0x7f800000;
/** bf16 quiet-NaN bit: the top of its 7 mantissa bits. */
const BF16_QUIET_NAN_BIT = 0x0040;
/** f32 quiet-NaN bit. */
const F32_QUIET_NAN_BIT = 0x00400000;
/** Low f32 bits that bf16 drops. */
const DROPPED_BITS = 16;
/** Added before truncation to round to nearest; +1 more when the kept part is odd (ties to even). */
const ROUNDING_BIAS = 0x7fff;

/** f32 bit pattern → bf16 bit pattern, round to nearest even. */
export function bf16BitsFromF32Bits(bits: number): number {
  if ((bits & 0x7fffffff) > F32_INF_BITS) return ((bits >>> DROPPED_BITS) | BF16_QUIET_NAN_BIT) & 0xffff;
  // NOTE: `bits` is a non-negative uint32 and JS adds in doubles, so the sum
  // cannot wrap; `>>>` then truncates it back to 32 bits.
  const kept = (bits >>> DROPPED_BITS) & 1;
  return ((bits + ROUNDING_BIAS + kept) >>> DROPPED_BITS) & 0xffff;
}

/** bf16 bit pattern → f32 bit pattern (exact; NaN is made quiet). */
export function f32BitsFromBf16Bits(half: number): number {
  const bits = ((half & 0xffff) << DROPPED_BITS) >>> 0;
  return (bits & 0x7fffffff) > F32_INF_BITS ? (bits | F32_QUIET_NAN_BIT) >>> 0 : bits;
}

/** The bf16 bit pattern nearest to `x` (which is first rounded to f32). */
export function f32ToBf16Bits(x: number): number {
  return bf16BitsFromF32Bits(float32Bits(x));
}

/** The value of a bf16 bit pattern (only the low 16 bits of `half` are used). */
export function bf16BitsToF32(half: number): number {
  return float32FromBits(f32BitsFromBf16Bits(half));
}

/** Encodes every element to bf16 bits, into `out` when given (same length). */
export function encodeBf16(values: Float32Array, out?: Uint16Array): Uint16Array {
  const halves = out ?? new Uint16Array(values.length);
  checkOutputLength("encodeBf16", values.length, halves.length);
  const bits = uint32View(values);
  for (let i = 0; i < bits.length; i++) halves[i] = bf16BitsFromF32Bits(bits[i] ?? 0);
  return halves;
}

/** Decodes bf16 bit patterns to f32, into `out` when given (same length). */
export function decodeBf16(halves: Uint16Array, out?: Float32Array): Float32Array {
  const values = out ?? new Float32Array(halves.length);
  checkOutputLength("decodeBf16", halves.length, values.length);
  const bits = uint32View(values);
  for (let i = 0; i < halves.length; i++) bits[i] = f32BitsFromBf16Bits(halves[i] ?? 0);
  return values;
}

/** Each element rounded to the nearest bf16 and back: what a bf16 file holds. */
export function roundToBf16(values: Float32Array): Float32Array {
  const rounded = new Float32Array(values.length);
  const inBits = uint32View(values);
  const outBits = uint32View(rounded);
  for (let i = 0; i < inBits.length; i++) outBits[i] = f32BitsFromBf16Bits(bf16BitsFromF32Bits(inBits[i] ?? 0));
  return rounded;
}
