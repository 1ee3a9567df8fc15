/**
 * One block's payload between memory (f32, or a pool's stored bf16/f16
 * patterns, host order) and the wire (f32, f16 or bf16, little-endian).
 * The same dtype on both sides is a byte copy on little-endian hosts (a pool
 * ships its stored bits as they are). f32 → f16 on write and f16 → f32 on
 * read (the f32 pools' half-width wire) are one conversion per element
 * through uint32/uint16 views, with nothing allocated beyond views. Any other
 * pair (an importer whose pool stores another dtype than the frame's) goes
 * through the bulk converters of kv-dtype-codec.ts with one scratch array per
 * block: widening is exact, narrowing rounds once to nearest even.
 * Big-endian hosts and odd-aligned wire bytes take a DataView/byte-pair path
 * that gives the same bytes. Callers have already checked every length.
 */
import { allocateArena, convertArena } from "../dtype/kv-dtype-codec.js";
import type { KvArena, KvDtype } from "../kv-types.js";
import { f16BitsFromF32Bits, f16DecodeTable } from "./f16-bits.js";
import { HOST_IS_LITTLE_ENDIAN, WIRE_DTYPE_BYTES, type KvWireDtype } from "./kv-frame-layout.js";

/** Writes `values` (stored as `valuesDtype`) into out[offset, offset + values.length × width) in the wire dtype. */
export function writePayload(wireDtype: KvWireDtype, values: KvArena, valuesDtype: KvDtype, out: Uint8Array, offset: number): void {
  if (wireDtype === valuesDtype) return copyOut(wireDtype, values, out, offset);
  if (valuesDtype === "f32" && wireDtype === "f16") return writeF16FromF32(values as Float32Array, out, offset);
  const wire = allocateArena(wireDtype, values.length);
  convertArena(values, valuesDtype, wire, wireDtype);
  copyOut(wireDtype, wire, out, offset);
}

/** Reads wire bytes (exactly dest.length × width of them) into `dest`, stored as `destDtype`; true when it converted. */
export function readPayload(wireDtype: KvWireDtype, wire: Uint8Array, dest: KvArena, destDtype: KvDtype): boolean {
  if (wireDtype === destDtype) {
    copyIn(wireDtype, wire, dest);
    return false;
  }
  if (wireDtype === "f16" && destDtype === "f32") {
    readF16IntoF32(wire, dest as Float32Array);
    return true;
  }
  const scratch = allocateArena(wireDtype, dest.length);
  copyIn(wireDtype, wire, scratch);
  convertArena(scratch, wireDtype, dest, destDtype);
  return true;
}

/** The bytes of `values` (already in the wire dtype) into `out` from `offset`, little-endian. */
function copyOut(dtype: KvWireDtype, values: KvArena, out: Uint8Array, offset: number): void {
  if (HOST_IS_LITTLE_ENDIAN) return void out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
  const width = WIRE_DTYPE_BYTES[dtype];
  const view = new DataView(out.buffer, out.byteOffset + offset, values.length * width);
  if (width === 4) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) view.setUint32(4 * i, bits[i] ?? 0, true);
  } else for (let i = 0; i < values.length; i++) view.setUint16(2 * i, values[i] ?? 0, true);
}

/** Little-endian wire bytes into `dest` (in the wire dtype). */
function copyIn(dtype: KvWireDtype, wire: Uint8Array, dest: KvArena): void {
  if (HOST_IS_LITTLE_ENDIAN) return void new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength).set(wire);
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
  if (WIRE_DTYPE_BYTES[dtype] === 4) {
    const bits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
    for (let i = 0; i < bits.length; i++) bits[i] = view.getUint32(4 * i, true);
  } else for (let i = 0; i < dest.length; i++) dest[i] = view.getUint16(2 * i, true);
}

function writeF16FromF32(values: Float32Array, out: Uint8Array, offset: number): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const start = out.byteOffset + offset;
  if (HOST_IS_LITTLE_ENDIAN && start % 2 === 0) {
    const halves = new Uint16Array(out.buffer, start, bits.length);
    for (let i = 0; i < bits.length; i++) halves[i] = f16BitsFromF32Bits(bits[i] ?? 0);
    return;
  }
  const view = new DataView(out.buffer, start, 2 * bits.length);
  for (let i = 0; i < bits.length; i++) view.setUint16(2 * i, f16BitsFromF32Bits(bits[i] ?? 0), true);
}

function readF16IntoF32(wire: Uint8Array, dest: Float32Array): void {
  const destBits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
  const table = f16DecodeTable();
  if (HOST_IS_LITTLE_ENDIAN && wire.byteOffset % 2 === 0) {
    const halves = new Uint16Array(wire.buffer, wire.byteOffset, destBits.length);
    for (let i = 0; i < destBits.length; i++) destBits[i] = table[halves[i] ?? 0] ?? 0;
    return;
  }
  // Odd-aligned bytes (a subarray of a pooled Buffer) or a big-endian host.
  for (let i = 0; i < destBits.length; i++) destBits[i] = table[(wire[2 * i] ?? 0) | ((wire[2 * i + 1] ?? 0) << 8)] ?? 0;
}
