/**
 * A slow, arithmetic f16 oracle for tests, written without bit tricks: the
 * value of a pattern is computed with powers of two, and rounding searches the
 * sorted list of all finite f16 values for the nearest one (ties to the even
 * pattern). Values from 65520 up round to Inf, as IEEE round-to-nearest
 * treats 2^16 as the next value after 65504.
 */

/** Largest finite f16 pattern (65504). */
const F16_MAX_FINITE_PATTERN = 0x7bff;
const F16_INF_PATTERN = 0x7c00;
const F16_SIGN = 0x8000;

/** The value of an f16 pattern, by the definition of binary16. */
export function oracleF16Value(half: number): number {
  const sign = half & F16_SIGN ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * Math.pow(2, -24);
  return sign * (1 + mantissa / 1024) * Math.pow(2, exponent - 15);
}

/** Non-negative finite f16 values by pattern (patterns 0 … 0x7bff rise monotonically). */
const POSITIVE_VALUES = Array.from({ length: F16_MAX_FINITE_PATTERN + 1 }, (_, half) => oracleF16Value(half));

/** The f16 pattern nearest to x (x is an f32 value), ties to the even pattern; NaN gives null. */
export function oracleNearestF16(x: number): number | null {
  if (Number.isNaN(x)) return null;
  const sign = x < 0 || Object.is(x, -0) ? F16_SIGN : 0;
  const abs = Math.abs(x);
  // Binary search: the largest pattern whose value is <= abs.
  let low = 0;
  let high = F16_MAX_FINITE_PATTERN;
  if (abs >= POSITIVE_VALUES[high]!) {
    const above = 65536; // the value Inf stands in for when rounding
    const down = abs - POSITIVE_VALUES[high]!;
    const up = above - abs;
    return sign | (up < down || (up === down && (F16_INF_PATTERN & 1) === 0) ? F16_INF_PATTERN : F16_MAX_FINITE_PATTERN);
  }
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

/** x rounded through f16 and back, by the oracle (NaN stays NaN). */
export function oracleRoundF16(x: number): number {
  const half = oracleNearestF16(x);
  return half === null ? NaN : oracleF16Value(half);
}
