/**
 * Orders strings by Unicode code point, which is also the byte order of their
 * UTF-8 encodings; that is how the official (Rust) safetensors writer orders
 * tensor names, and unlike JS's default sort it does not depend on UTF-16.
 */

/** Negative, zero or positive as `a` sorts before, with, or after `b`. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const unitA = a.charCodeAt(i);
    const unitB = b.charCodeAt(i);
    if (unitA !== unitB) return codePointRank(unitA) - codePointRank(unitB);
  }
  return a.length - b.length;
}

/**
 * NOTE: UTF-16 code-unit order already matches code-point order except that
 * surrogates (0xD800–0xDFFF, which encode code points above 0xFFFF) sort
 * below 0xE000–0xFFFF. Moving surrogates above that range fixes it; at the
 * first differing unit this decides the comparison of the whole code point.
 */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
