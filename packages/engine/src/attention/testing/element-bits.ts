/**
 * 16-bit test data, made independently of the kernels' widening code:
 * `quantize` truncates an f32 value to a bf16 or f16 pattern toward zero,
 * and the value the data then holds is what `valueOfBits` computes from the
 * format's definition (sign · 2^(e − bias) · (1 + m / 2^mantissaBits), subnormals
 * m · 2^-24). Truncation suffices: the fixture only needs values the format
 * holds exactly and their bits (rounding is the storage side's job).
 */
import type { KvElementType } from "../attention-kernel.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f32 value of a bf16 or f16 bit pattern (NaN for NaN patterns), from the format's definition. */
export function valueOfBits(bits: number, type: "bf16" | "f16"): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const [exponentBits, mantissaBits] = type === "bf16" ? [8, 7] : [5, 10];
  const bias = 2 ** (exponentBits - 1) - 1;
  const exponent = (bits >>> mantissaBits) & (2 ** exponentBits - 1);
  const mantissa = bits & (2 ** mantissaBits - 1);
  if (exponent === 2 ** exponentBits - 1) return mantissa === 0 ? sign * Infinity : Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

/** The pattern of `x` (finite) truncated toward zero to `type`; f16 saturates at ±65504 and flushes below 2^-24 to ±0. */
export function truncatedBits(x: number, type: "bf16" | "f16"): number {
  f32[0] = x;
  const bits = u32[0]!;
  if (type === "bf16") return bits >>> 16;
  const sign = (bits >>> 16) & 0x8000;
  const a = Math.abs(f32[0]);
  if (a >= 65504) return sign | 0x7bff;
  // Below 2^-14 the f16 step is 2^-24: a count of steps. Above it, the f32
  // exponent field rebiased from 127 to 15 and the mantissa's top 10 bits.
  if (a < 2 ** -14) return sign | Math.floor(a / 2 ** -24);
  return sign | (((bits & 0x7fffffff) - ((127 - 15) << 23)) >>> 13);
}

const valueTables = new Map<"bf16" | "f16", Float64Array>();

/**
 * Replaces each value of `values` by the value of its truncated `type`
 * pattern (f32: unchanged), so that it is stored exactly; returns the patterns.
 */
export function quantize(values: Float32Array, type: KvElementType): Uint16Array | null {
  if (type === "f32") return null;
  let table = valueTables.get(type);
  if (table === undefined) {
    table = Float64Array.from({ length: 0x10000 }, (_, bits) => valueOfBits(bits, type));
    valueTables.set(type, table);
  }
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bits[i] = truncatedBits(values[i]!, type);
    values[i] = table[bits[i]!]!;
  }
  return bits;
}
