/**
 * One block's payload between memory (f32, host order) and the wire (f32 or
 * f16, little-endian). On little-endian hosts f32 is a byte copy both ways;
 * f16 is one conversion per element through uint32/uint16 views, so nothing
 * is allocated per element or per block beyond views. Big-endian hosts and
 * odd-aligned wire bytes take a DataView/byte-pair path that gives the same
 * bytes. Callers have already checked every length.
 */
import { f16BitsFromF32Bits, f16DecodeTable } from "./f16-bits.js";
import { HOST_IS_LITTLE_ENDIAN, type KvWireDtype } from "./kv-frame-layout.js";

/** Writes `values` into out[offset, offset + values.length × width) in the wire dtype. */
export function writePayload(wireDtype: KvWireDtype, values: Float32Array, out: Uint8Array, offset: number): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  if (wireDtype === "f32") {
    if (HOST_IS_LITTLE_ENDIAN) return void out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
    const view = new DataView(out.buffer, out.byteOffset + offset, values.byteLength);
    for (let i = 0; i < bits.length; i++) view.setUint32(4 * i, bits[i] ?? 0, true);
    return;
  }
  const start = out.byteOffset + offset;
  if (HOST_IS_LITTLE_ENDIAN && start % 2 === 0) {
    const halves = new Uint16Array(out.buffer, start, bits.length);
    for (let i = 0; i < bits.length; i++) halves[i] = f16BitsFromF32Bits(bits[i] ?? 0);
    return;
  }
  const view = new DataView(out.buffer, start, 2 * bits.length);
  for (let i = 0; i < bits.length; i++) view.setUint16(2 * i, f16BitsFromF32Bits(bits[i] ?? 0), true);
}

/** Reads wire bytes (exactly dest.length × width of them) into `dest`. */
export function readPayload(wireDtype: KvWireDtype, wire: Uint8Array, dest: Float32Array): void {
  const destBits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
  if (wireDtype === "f32") {
    if (HOST_IS_LITTLE_ENDIAN) return void new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength).set(wire);
    const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
    for (let i = 0; i < destBits.length; i++) destBits[i] = view.getUint32(4 * i, true);
    return;
  }
  const table = f16DecodeTable();
  if (HOST_IS_LITTLE_ENDIAN && wire.byteOffset % 2 === 0) {
    const halves = new Uint16Array(wire.buffer, wire.byteOffset, destBits.length);
    for (let i = 0; i < destBits.length; i++) destBits[i] = table[halves[i] ?? 0] ?? 0;
    return;
  }
  // Odd-aligned bytes (a subarray of a pooled Buffer) or a big-endian host.
  for (let i = 0; i < destBits.length; i++) destBits[i] = table[(wire[2 * i] ?? 0) | ((wire[2 * i + 1] ?? 0) << 8)] ?? 0;
}
