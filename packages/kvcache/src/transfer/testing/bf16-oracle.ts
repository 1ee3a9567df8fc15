/**
 * A slow, arithmetic bf16 oracle for tests, written without bit tricks (the
 * twin of f16-oracle.ts): the value of a pattern is computed with powers of
 * two from bf16's definition (1 sign bit, 8 exponent bits with bias 127, 7
 * mantissa bits), and rounding searches the sorted list of all finite bf16
 * values for the nearest one (ties to the even pattern). Values from
 * 2^128 − 2^119 (halfway between the largest finite bf16 and 2^128) up round
 * to Inf, as IEEE round-to-nearest treats 2^128 as the next value.
 */

/** Largest finite bf16 pattern: (2 − 2^-7) · 2^127. */
const BF16_MAX_FINITE_PATTERN = 0x7f7f;
const BF16_INF_PATTERN = 0x7f80;
const BF16_SIGN = 0x8000;

/** The value of a bf16 pattern, by the definition of bfloat16. */
export function oracleBf16Value(half: number): number {
  const sign = half & BF16_SIGN ? -1 : 1;
  const exponent = (half >> 7) & 0xff;
  const mantissa = half & 0x7f;
  if (exponent === 0xff) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * Math.pow(2, -133);
  return sign * (1 + mantissa / 128) * Math.pow(2, exponent - 127);
}

/** Non-negative finite bf16 values by pattern (patterns 0 … 0x7f7f rise monotonically). */
const POSITIVE_VALUES = Array.from({ length: BF16_MAX_FINITE_PATTERN + 1 }, (_, half) => oracleBf16Value(half));

/** The bf16 pattern nearest to x (x is an f32 value), ties to the even pattern; NaN gives null. */
export function oracleNearestBf16(x: number): number | null {
  if (Number.isNaN(x)) return null;
  const sign = x < 0 || Object.is(x, -0) ? BF16_SIGN : 0;
  const abs = Math.abs(x);
  let low = 0;
  let high = BF16_MAX_FINITE_PATTERN;
  if (abs >= POSITIVE_VALUES[high]!) {
    const above = Math.pow(2, 128); // the value Inf stands in for when rounding
    const down = abs - POSITIVE_VALUES[high]!;
    const up = above - abs;
    return sign | (up < down || (up === down && (BF16_INF_PATTERN & 1) === 0) ? BF16_INF_PATTERN : BF16_MAX_FINITE_PATTERN);
  }
  // Binary search: the largest pattern whose value is <= abs.
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (POSITIVE_VALUES[middle]! <= abs) low = middle;
    else high = middle - 1;
  }
  const down = abs - POSITIVE_VALUES[low]!;
  const up = POSITIVE_VALUES[low + 1]! - abs;
  if (down < up) return sign | low;
  if (up < down) return sign | (low + 1);
  return sign | (low % 2 === 0 ? low : low + 1);
}

/** x rounded through bf16 and back, by the oracle (NaN stays NaN). */
export function oracleRoundBf16(x: number): number {
  const half = oracleNearestBf16(x);
  return half === null ? NaN : oracleBf16Value(half);
}
