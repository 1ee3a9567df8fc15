/**
 * bfloat16 ("bf16") bit conversions. bf16 is the top half of an f32: 1 sign
 * bit, 8 exponent bits (bias 127), 7 mantissa bits, so it keeps f32's range
 * and about 2^-8 relative precision. f32 → bf16 rounds to nearest, ties to
 * even, on the f32 bit pattern (finite values past the largest bf16 round to
 * ±Inf, subnormals round like any other value, ±0 keeps its sign, NaN stays a
 * quiet NaN with its top payload bits). bf16 → f32 is exact: the bits move up 16.
 */

/** Everything but the f32 sign bit. */
const F32_ABS_MASK = 0x7fffffff;
/** f32 bits of +Inf; anything above (in absolute value) is a NaN. */
const F32_INF_BITS = 0x7f800000;
/** bf16 quiet-NaN bit (top mantissa bit). */
const BF16_QUIET_NAN_BIT = 0x0040;
/** Just under half a bf16 ulp in f32 bits: adding it plus the kept low bit rounds to nearest, ties to even. */
const HALF_ULP_MINUS_ONE = 0x7fff;

/** f32 bit pattern (uint32) → bf16 bit pattern, round to nearest, ties to even. */
export function bf16BitsFromF32Bits(bits: number): number {
  if ((bits & F32_ABS_MASK) > F32_INF_BITS) return ((bits >>> 16) | BF16_QUIET_NAN_BIT) & 0xffff;
  // A carry out of the mantissa bumps the exponent, and past the largest finite value it gives Inf: both correct.
  const keptLowBit = (bits >>> 16) & 1;
  return ((bits + HALF_ULP_MINUS_ONE + keptLowBit) >>> 16) & 0xffff;
}

/** bf16 bit pattern (low 16 bits used) → f32 bit pattern (uint32), exact. */
export function f32BitsFromBf16Bits(half: number): number {
  return (half << 16) >>> 0;
}
