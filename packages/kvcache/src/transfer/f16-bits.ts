/**
 * IEEE 754 binary16 ("f16") bit conversions for the wire. f16 has 1 sign
 * bit, 5 exponent bits (bias 15) and 10 mantissa bits: the largest finite value
 * is 65504, the smallest subnormal 2^-24. f32 → f16 rounds to nearest, ties to
 * even, on the f32 bit pattern (values from 65520 up become ±Inf, subnormals
 * are produced exactly, ±0 keeps its sign, NaN stays a quiet NaN with its top
 * payload bits). f16 → f32 is exact, and goes through a 256 KiB table of all
 * 65536 patterns built on first use, so bulk decoding is one lookup per element.
 * NOTE: kvcache imports no internal package, so this is its own copy of the
 * conversion @sigmaserve/model also has; the tests pin it to an oracle.
 */

/** Everything but the f32 sign bit. */
const F32_ABS_MASK = 0x7fffffff;
/** f32 bits of +Inf: an exponent field of all ones. */
const F32_INF_BITS = 0x7f800000;
/** f32 quiet-NaN bit (top mantissa bit). */
const F32_QUIET_NAN_BIT = 0x00400000;
/** f32 bits of 65520, halfway between the largest f16 (65504) and 2^16: it and everything above round to Inf. */
const F32_F16_OVERFLOW_BITS = 0x477ff000;
/** f32 bits of 2^-14, the smallest normal f16. */
const F32_F16_MIN_NORMAL_BITS = 0x38800000;
/** f32 bits of 2^-25, half the smallest f16 subnormal: a tie with zero, which is even, so it and below round to ±0. */
const F32_F16_HALF_MIN_SUBNORMAL_BITS = 0x33000000;
/** (127 − 15) << 23: subtracting it rebiases an f32 exponent field to f16's. */
const EXPONENT_REBIAS = 0x38000000;
/** Mantissa bits f32 has and f16 lacks (23 − 10). */
const DROPPED_MANTISSA_BITS = 13;
/** f16 bits of +Inf. */
const F16_INF_BITS = 0x7c00;
/** f16 quiet-NaN bit (top mantissa bit). */
const F16_QUIET_NAN_BIT = 0x0200;
/** Distinct f16 bit patterns. */
const F16_PATTERN_COUNT = 0x10000;

/** f32 bit pattern (uint32) → f16 bit pattern, round to nearest, ties to even. */
export function f16BitsFromF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & F32_ABS_MASK;
  if (abs >= F32_INF_BITS) {
    if (abs === F32_INF_BITS) return sign | F16_INF_BITS;
    // NaN: keep the top payload bits and set the quiet bit, which also keeps
    // a NaN whose kept bits are all zero from reading back as Inf.
    return sign | F16_INF_BITS | F16_QUIET_NAN_BIT | ((abs >>> DROPPED_MANTISSA_BITS) & 0x3ff);
  }
  if (abs >= F32_F16_OVERFLOW_BITS) return sign | F16_INF_BITS;
  if (abs >= F32_F16_MIN_NORMAL_BITS) {
    // Normal: rebias, then add just under half an f16 ulp plus the kept
    // lowest bit (so an exact tie rounds up only from an odd mantissa) and
    // drop 13 bits. A carry out of the mantissa correctly bumps the exponent.
    const rebiased = abs - EXPONENT_REBIAS;
    const keptLowBit = (rebiased >>> DROPPED_MANTISSA_BITS) & 1;
    return sign | ((rebiased + 0x0fff + keptLowBit) >>> DROPPED_MANTISSA_BITS);
  }
  if (abs <= F32_F16_HALF_MIN_SUBNORMAL_BITS) return sign;
  // Subnormal result: the value is significand × 2^(exponent − 150), which in
  // units of 2^-24 is significand >> (126 − exponent); shift is 14 … 24 here.
  const exponent = abs >>> 23;
  const significand = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - exponent;
  const kept = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  const roundUp = dropped > halfway || (dropped === halfway && (kept & 1) === 1) ? 1 : 0;
  return sign | (kept + roundUp);
}

/** f16 bit pattern (low 16 bits used) → f32 bit pattern (uint32), exact; NaN is made quiet. */
export function f32BitsFromF16Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) {
    const nan = mantissa === 0 ? 0 : F32_QUIET_NAN_BIT | (mantissa << DROPPED_MANTISSA_BITS);
    return (sign | F32_INF_BITS | nan) >>> 0;
  }
  // Normal: the inverse of the encoder's rebias (exact, no rounding).
  if (exponent !== 0) return (sign | ((((exponent << 10) | mantissa) << DROPPED_MANTISSA_BITS) + EXPONENT_REBIAS)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal: mantissa × 2^-24. Move the leading one up to the implicit-bit
  // position (bit 10), lowering the exponent once per shift.
  let f32Exponent = 127 - 14;
  let normalized = mantissa;
  while ((normalized & 0x400) === 0) {
    normalized <<= 1;
    f32Exponent -= 1;
  }
  return (sign | (f32Exponent << 23) | ((normalized & 0x3ff) << DROPPED_MANTISSA_BITS)) >>> 0;
}

let decodeTable: Uint32Array | undefined;

/** The f32 bit pattern of every f16 bit pattern (index = f16 bits), built on first use. */
export function f16DecodeTable(): Uint32Array {
  if (decodeTable === undefined) {
    const table = new Uint32Array(F16_PATTERN_COUNT);
    for (let half = 0; half < F16_PATTERN_COUNT; half++) table[half] = f32BitsFromF16Bits(half);
    decodeTable = table;
  }
  return decodeTable;
}
