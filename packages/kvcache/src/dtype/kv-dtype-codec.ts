/**
 * Bulk conversions between f32 values and a pool's stored dtype, and between
 * two stored dtypes. Every 16-bit → f32 step is exact (bf16: a shift; f16: a
 * 256 KiB table lookup), and every step into a 16-bit dtype rounds once, to
 * nearest even, on the f32 bit pattern. A conversion between two 16-bit
 * dtypes widens to f32 first (exact) and rounds once into the target. The
 * same dtype on both sides is a plain copy of the bits. Nothing is allocated
 * beyond views; callers have checked every length.
 */
import { f16BitsFromF32Bits, f16DecodeTable } from "../transfer/f16-bits.js";
import type { KvArena, KvDtype } from "../kv-types.js";
import { bf16BitsFromF32Bits } from "./bf16-bits.js";

/** Whether `arena` is the array type `dtype` is stored in (Float32Array iff f32). */
export function arenaMatchesDtype(arena: KvArena, dtype: KvDtype): boolean {
  return dtype === "f32" ? arena instanceof Float32Array : arena instanceof Uint16Array;
}

/** A fresh zeroed arena of `length` elements for `dtype`. */
export function allocateArena(dtype: KvDtype, length: number): KvArena {
  return dtype === "f32" ? new Float32Array(length) : new Uint16Array(length);
}

/** Narrows f32 `src` into `dst` (16-bit patterns of `dtype`) from `dstOffset`. */
export function narrowF32Into(dtype: "bf16" | "f16", src: Float32Array, dst: Uint16Array, dstOffset: number): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const n = bits.length;
  if (dtype === "bf16") for (let i = 0; i < n; i++) dst[dstOffset + i] = bf16BitsFromF32Bits(bits[i]!);
  else for (let i = 0; i < n; i++) dst[dstOffset + i] = f16BitsFromF32Bits(bits[i]!);
}

/** Widens `length` 16-bit patterns of `dtype` from src[srcOffset] into f32 `dst` from `dstOffset` (exact). */
export function widenIntoF32(dtype: "bf16" | "f16", src: Uint16Array, srcOffset: number, length: number, dst: Float32Array, dstOffset: number): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset + 4 * dstOffset, length);
  if (dtype === "bf16") {
    for (let i = 0; i < length; i++) out[i] = src[srcOffset + i]! << 16;
    return;
  }
  const table = f16DecodeTable();
  for (let i = 0; i < length; i++) out[i] = table[src[srcOffset + i]!]!;
}

/**
 * Copies every element of `src` (stored as `srcDtype`) into `dst` (stored as
 * `dstDtype`) from `dstOffset`, converting when the dtypes differ. Returns
 * whether it converted (false: the bits were copied as they are).
 */
export function convertArena(src: KvArena, srcDtype: KvDtype, dst: KvArena, dstDtype: KvDtype, dstOffset = 0): boolean {
  if (srcDtype === dstDtype) {
    (dst as Float32Array).set(src as Float32Array, dstOffset);
    return false;
  }
  if (srcDtype === "f32") {
    narrowF32Into(dstDtype as "bf16" | "f16", src as Float32Array, dst as Uint16Array, dstOffset);
    return true;
  }
  if (dstDtype === "f32") {
    widenIntoF32(srcDtype, src as Uint16Array, 0, src.length, dst as Float32Array, dstOffset);
    return true;
  }
  // bf16 ↔ f16: through f32 (exact), one rounding into the target.
  const wide = new Float32Array(src.length);
  widenIntoF32(srcDtype, src as Uint16Array, 0, src.length, wide, 0);
  narrowF32Into(dstDtype, wide, dst as Uint16Array, dstOffset);
  return true;
}
