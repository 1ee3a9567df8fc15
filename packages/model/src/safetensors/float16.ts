/**
 * IEEE 754 binary16 ("f16", safetensors `F16`) conversions. f16 has 1 sign
 * bit, 5 exponent bits (bias 15) and 10 mantissa bits; the largest finite value
 * is 65504 and the smallest subnormal 2^-24. f32 → f16 rounds to nearest, ties
 * to even, on the f32 bit pattern: subnormals are produced exactly, values from
 * 65520 up overflow to ±Inf, ±0 keeps its sign, and NaN stays NaN with its top
 * payload bits and the quiet bit set. f16 → f32 is exact (every f16 is an f32).
 * Bulk paths work on uint32 views and a 256 KiB decode table built on first
 * use, so they allocate nothing per element.
 */

import { checkOutputLength, float32Bits, float32FromBits, uint32View } from "./float-bits.js";

const F32_EXPONENT_BIAS = 127;
const F16_EXPONENT_BIAS = 15;
/** f16 exponent field of Inf/NaN (all ones), already shifted into place. */
const F16_EXPONENT_MASK = 0x7c00;
/** f16 quiet-NaN bit: the top mantissa bit. */
const F16_QUIET_NAN_BIT = 0x0200;
/** f32 exponent field of Inf/NaN. */
const F32_EXPONENT_MASK = 0x7f800000;
/** f32 quiet-NaN bit. */
const F32_QUIET_NAN_BIT = 0x00400000;
/** Mantissa bits f32 has and f16 lacks (23 − 10). */
const DROPPED_MANTISSA_BITS = 13;
/** Number of distinct f16 bit patterns; the decode table has one entry each. */
const F16_PATTERN_COUNT = 0x10000;

/** f32 bit pattern → f16 bit pattern, round to nearest even. */
export function f16BitsFromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    // Inf stays Inf; NaN keeps its top payload bits and is made quiet, which
    // also keeps it from turning into Inf when those bits are all zero.
    if (mantissa === 0) return sign | F16_EXPONENT_MASK;
    return sign | F16_EXPONENT_MASK | F16_QUIET_NAN_BIT | (mantissa >>> DROPPED_MANTISSA_BITS);
  }
  const halfExponent = exponent - F32_EXPONENT_BIAS + F16_EXPONENT_BIAS;
  if (halfExponent >= 0x1f) return sign | F16_EXPONENT_MASK;
  if (halfExponent >= 1) {
    // Normal. NOTE: a round-up that carries out of the mantissa bumps the
    // exponent field, which is the right answer, up to and including Inf.
    const truncated = (halfExponent << 10) | (mantissa >>> DROPPED_MANTISSA_BITS);
    return sign | (truncated + roundUp(mantissa & 0x1fff, 0x1000, truncated));
  }
  // Below half the smallest subnormal (2^-25): rounds to a signed zero.
  if (halfExponent < -10) return sign;
  // Subnormal: the value in units of 2^-24 is significand >> (14 − halfExponent).
  const significand = mantissa | 0x800000;
  const shift = 14 - halfExponent;
  const truncated = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  return sign | (truncated + roundUp(dropped, 1 << (shift - 1), truncated));
}

/** 1 when the dropped bits round the kept ones up (nearest, ties to even), else 0. */
function roundUp(dropped: number, halfway: number, kept: number): number {
  return dropped > halfway || (dropped === halfway && (kept & 1) === 1) ? 1 : 0;
}

/** f16 bit pattern → f32 bit pattern (exact; NaN is made quiet). */
export function f32BitsFromF16Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) {
    if (mantissa === 0) return (sign | F32_EXPONENT_MASK) >>> 0;
    return (sign | F32_EXPONENT_MASK | F32_QUIET_NAN_BIT | (mantissa << DROPPED_MANTISSA_BITS)) >>> 0;
  }
  if (exponent !== 0) {
    const f32Exponent = exponent - F16_EXPONENT_BIAS + F32_EXPONENT_BIAS;
    return (sign | (f32Exponent << 23) | (mantissa << DROPPED_MANTISSA_BITS)) >>> 0;
  }
  if (mantissa === 0) return sign >>> 0;
  // Subnormal: mantissa × 2^-24. Shift the leading one up to the implicit-bit
  // position (bit 10), lowering the exponent from 2^-14 once per shift.
  let f32Exponent = 1 - F16_EXPONENT_BIAS + F32_EXPONENT_BIAS;
  let normalized = mantissa;
  while ((normalized & 0x400) === 0) {
    normalized <<= 1;
    f32Exponent -= 1;
  }
  return (sign | (f32Exponent << 23) | ((normalized & 0x3ff) << DROPPED_MANTISSA_BITS)) >>> 0;
}

let decodeTable: Uint32Array | undefined;

/** f32 bit pattern of every f16 bit pattern, built on first use. */
function f16DecodeTable(): Uint32Array {
  if (decodeTable === undefined) {
    decodeTable = new Uint32Array(F16_PATTERN_COUNT);
    for (let half = 0; half < F16_PATTERN_COUNT; half++) decodeTable[half] = f32BitsFromF16Bits(half);
  }
  return decodeTable;
}

/** The f16 bit pattern nearest to `x` (which is first rounded to f32). */
export function f32ToF16Bits(x: number): number {
  return f16BitsFromF32Bits(float32Bits(x));
}

/** The value of an f16 bit pattern (only the low 16 bits of `half` are used). */
export function f16BitsToF32(half: number): number {
  return float32FromBits(f32BitsFromF16Bits(half & 0xffff));
}

/** Encodes every element to f16 bits, into `out` when given (same length). */
export function encodeF16(values: Float32Array, out?: Uint16Array): Uint16Array {
  const halves = out ?? new Uint16Array(values.length);
  checkOutputLength("encodeF16", values.length, halves.length);
  const bits = uint32View(values);
  for (let i = 0; i < bits.length; i++) halves[i] = f16BitsFromF32Bits(bits[i] ?? 0);
  return halves;
}

/** Decodes f16 bit patterns to f32, into `out` when given (same length). */
export function decodeF16(halves: Uint16Array, out?: Float32Array): Float32Array {
  const values = out ?? new Float32Array(halves.length);
  checkOutputLength("decodeF16", halves.length, values.length);
  const table = f16DecodeTable();
  const bits = uint32View(values);
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i] ?? 0] ?? 0;
  return values;
}

/** Each element rounded to the nearest f16 and back: what an f16 file holds. */
export function roundToF16(values: Float32Array): Float32Array {
  const rounded = new Float32Array(values.length);
  const table = f16DecodeTable();
  const inBits = uint32View(values);
  const outBits = uint32View(rounded);
  for (let i = 0; i < inBits.length; i++) outBits[i] = table[f16BitsFromF32Bits(inBits[i] ?? 0)] ?? 0;
  return rounded;
}
