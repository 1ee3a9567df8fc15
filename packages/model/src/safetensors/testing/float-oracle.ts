/**
 * Slow, obviously-correct oracles for 16-bit float rounding, written with
 * arithmetic (powers of two, binary search, distance comparison) instead of
 * the bit tricks the code under test uses. A format is described by its
 * exponent and mantissa widths; the oracle enumerates every non-negative
 * finite value in bit-pattern order (which is value order) and appends the
 * value the next pattern (Inf) would have if the exponent range went on, so
 * overflow is decided by the same nearest-even rule as everything else.
 */

export interface MiniFloatFormat {
  readonly exponentBits: number;
  readonly mantissaBits: number;
}

export const F16_FORMAT: MiniFloatFormat = { exponentBits: 5, mantissaBits: 10 };
export const BF16_FORMAT: MiniFloatFormat = { exponentBits: 8, mantissaBits: 7 };

/** The value of a 16-bit pattern, by the textbook formula. */
export function miniFloatValue(format: MiniFloatFormat, bits: number): number {
  const { exponentBits, mantissaBits } = format;
  const bias = 2 ** (exponentBits - 1) - 1;
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = Math.floor(bits / 2 ** mantissaBits) % 2 ** exponentBits;
  const mantissa = bits % 2 ** mantissaBits;
  if (exponent === 2 ** exponentBits - 1) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

/** Pattern of +Inf: all exponent bits set. */
export function infinityBits(format: MiniFloatFormat): number {
  return (2 ** format.exponentBits - 1) * 2 ** format.mantissaBits;
}

/** Values of patterns 0 … +Inf, with +Inf's slot holding 2^(emax+1) instead. */
export function positiveLadder(format: MiniFloatFormat): number[] {
  const inf = infinityBits(format);
  const ladder: number[] = [];
  for (let bits = 0; bits < inf; bits++) ladder.push(miniFloatValue(format, bits));
  const bias = 2 ** (format.exponentBits - 1) - 1;
  ladder.push(2 ** (bias + 1));
  return ladder;
}

/** The pattern nearest to finite-or-infinite, non-NaN `x`, ties to the even pattern. */
export function nearestBits(format: MiniFloatFormat, ladder: readonly number[], x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(x);
  const top = ladder.length - 1;
  if (magnitude >= (ladder[top] ?? Infinity)) return sign | top;
  // Largest index whose value is <= magnitude.
  let low = 0;
  let high = top;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if ((ladder[middle] ?? 0) <= magnitude) low = middle;
    else high = middle;
  }
  const below = magnitude - (ladder[low] ?? 0);
  const above = (ladder[low + 1] ?? 0) - magnitude;
  if (below < above) return sign | low;
  if (above < below) return sign | (low + 1);
  return sign | (low % 2 === 0 ? low : low + 1);
}

/** The f32 values either side of `x` (a positive f32) and `x` itself. */
export function f32Neighbourhood(x: number): number[] {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  const at = (b: number): number => {
    view.setUint32(0, b);
    return view.getFloat32(0);
  };
  return [at(bits - 1), x, at(bits + 1)];
}

/** The f32 whose bit pattern is `bits`. */
export function f32FromBitsSlow(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}
