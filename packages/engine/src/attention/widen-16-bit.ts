/**
 * 16-bit K/V elements widened to f32, exactly, for the JS kernel: one lookup
 * in a 256 KiB table of all 65536 bit patterns per element (built on first
 * use, once per type). bf16 is the top half of an f32, so its f32 bits are
 * `bits << 16`; f16 (IEEE binary16: 1 sign, 5 exponent bits with bias 15, 10
 * mantissa bits) is rebiased into f32's exponent, subnormals normalised (kvcache's own conversions, the ones its pools are written with). NaN
 * stays NaN (the JS kernel's arithmetic is f64, where NaN has no payload).
 * The native kernel widens in registers (native/src/element_types.h); both
 * are exact, so both see the same f32 values.
 */
import { f32BitsFromBf16Bits, f32BitsFromF16Bits } from "@sigmaserve/kvcache";
import type { KvElementType } from "./attention-kernel.js";

/** Distinct 16-bit patterns. */
const PATTERN_COUNT = 0x10000;

/** f16 bit pattern → f32 bit pattern (uint32), exact: the cache's own conversion (kvcache writes these patterns). */
export { f32BitsFromF16Bits as f32BitsOfF16Bits };

const tables = new Map<KvElementType, Float32Array>();

/** The f32 value of every bit pattern of a 16-bit type (index = the bits). */
export function widenTable(type: "bf16" | "f16"): Float32Array {
  let table = tables.get(type);
  if (table === undefined) {
    const bits = new Uint32Array(PATTERN_COUNT);
    for (let i = 0; i < PATTERN_COUNT; i++) bits[i] = type === "bf16" ? f32BitsFromBf16Bits(i) : f32BitsFromF16Bits(i);
    table = new Float32Array(bits.buffer);
    tables.set(type, table);
  }
  return table;
}

/** Writes the f32 values of `src[at … at+n-1]` (16-bit patterns) into `into[0 … n-1]`. */
export function widenInto(into: Float32Array, src: Uint16Array, at: number, n: number, table: Float32Array): void {
  for (let i = 0; i < n; i++) into[i] = table[src[at + i]!]!;
}
