/**
 * Safetensors data is little-endian; typed arrays use the host's byte order.
 * Every platform Node ships for today is little-endian, so the fast paths are
 * plain copies; on a big-endian host the same paths swap bytes in place after
 * copying, so the reader and writer stay correct without a second code path.
 */

/** True on little-endian hosts (checked once, by looking at a uint16's first byte). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts `bytes` between little-endian and host order in place, for
 * elements `elementBytes` wide. A no-op on little-endian hosts.
 */
export function littleEndianInPlace(bytes: Uint8Array, elementBytes: number): void {
  if (HOST_IS_LITTLE_ENDIAN || elementBytes === 1) return;
  for (let start = 0; start < bytes.length; start += elementBytes) {
    bytes.subarray(start, start + elementBytes).reverse();
  }
}
