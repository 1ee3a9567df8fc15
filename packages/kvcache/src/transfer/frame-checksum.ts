/**
 * The checksum of a KV frame's block payloads and block table, by format
 * version. Version 1 used zlib's CRC-32 (table-driven: it capped export at
 * about a quarter of memcpy); version 2 uses CRC-32C (Castagnoli), which x86
 * (SSE4.2) and ARMv8 compute in hardware, through @node-rs/crc32. Both are
 * 32-bit CRCs with the same error detection for a flipped byte; only the
 * polynomial differs. Writers emit the current version; readers accept both.
 */
import { crc32c } from "@node-rs/crc32";
import { crc32 } from "node:zlib";

/** Format versions this build reads. */
export const KV_FRAME_VERSIONS_READ = [1, 2] as const;
export type KvFrameVersion = (typeof KV_FRAME_VERSIONS_READ)[number];

/** The checksum the frame format `version` puts on `bytes` (an unsigned 32-bit integer). */
export function frameChecksum(version: KvFrameVersion, bytes: Uint8Array): number {
  return version === 1 ? crc32(bytes) : crc32c(bytes);
}

/** The checksum's name in messages and docs. */
export function frameChecksumName(version: KvFrameVersion): string {
  return version === 1 ? "CRC-32" : "CRC-32C";
}
