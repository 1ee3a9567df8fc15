import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { decodeKvFrame } from "./decode-kv-frame.js";
import { encodeKvFrame } from "./encode-kv-frame.js";
import { KvTransferError } from "./errors.js";
import { frameChecksum } from "./frame-checksum.js";
import { KV_FRAME_VERSION } from "./kv-frame-layout.js";
import { bitsOf, flipByte, makeBlocks, referenceCrc32c } from "./testing/frame-fixtures.js";

const TINY = { layers: 1, heads: 1, blockSizeTokens: 2, headDim: 2 };

test("frame checksum - version 2 is CRC-32C: the standard check value, and the bitwise oracle on any bytes at any offset", () => {
  const check = new TextEncoder().encode("123456789");
  assert.equal(frameChecksum(2, check), 0xe306_9283);
  assert.equal(frameChecksum(1, check), 0xcbf4_3926, "version 1 is zlib's CRC-32");
  assert.equal(frameChecksum(2, new Uint8Array(0)), 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, shift) => {
      const padded = new Uint8Array(bytes.length + shift);
      padded.set(bytes, shift);
      const view = padded.subarray(shift);
      assert.equal(frameChecksum(2, view), referenceCrc32c(bytes));
      assert.equal(frameChecksum(1, view), crc32(bytes));
    }),
  );
});

test("frame checksum - golden frame: two f32 blocks of a 1×1×2×2 shape, version 2, byte for byte", () => {
  const blocks = [
    { hash: 0x0102_0304_0506_0708n, data: Float32Array.of(1, -2, 0.5, 0) },
    { hash: 0xfedc_ba98_7654_3210n, data: Float32Array.of(-0, 3, 1e-3, 65504) },
  ];
  const frame = encodeKvFrame({ component: "k", wireDtype: "f32", shape: TINY, blocks });
  assert.equal(KV_FRAME_VERSION, 2);
  assert.equal(
    Buffer.from(frame).toString("hex"),
    [
      "534b5631", "0200", "00", "00", "01000000", "01000000", "02000000", "02000000", "02000000", "10000000", // header
      "0807060504030201", "b06ba442", // block 0: hash, CRC-32C of its 16 payload bytes
      "1032547698badcfe", "4c27d63c", // block 1
      "b634e04f", // table CRC-32C
      "0000803f000000c00000003f00000000", // block 0: 1, -2, 0.5, 0
      "00000080000040406f12833a00e07f47", // block 1: -0, 3, 0.001, 65504
    ].join(""),
  );
  const decoded = decodeKvFrame(frame);
  assert.deepEqual(decoded.blocks.map((b) => [b.hash, bitsOf(b.data)]), blocks.map((b) => [b.hash, bitsOf(b.data)]));
});

test("frame checksum - a version 1 frame (CRC-32) still decodes, and is refused block by block the same way", () => {
  const blocks = makeBlocks({ ...TINY, layers: 3 }, 3);
  const v1 = encodeKvFrame({ component: "v", wireDtype: "f16", shape: { ...TINY, layers: 3 }, blocks }, { version: 1 });
  assert.equal(new DataView(v1.buffer, v1.byteOffset).getUint16(4, true), 1);
  const v2 = encodeKvFrame({ component: "v", wireDtype: "f16", shape: { ...TINY, layers: 3 }, blocks });
  assert.deepEqual(decodeKvFrame(v1).blocks.map((b) => bitsOf(b.data)), decodeKvFrame(v2).blocks.map((b) => bitsOf(b.data)));
  const payloadStart = 36 + 12 * 3;
  const refused = decodeKvFrame(flipByte(v1, payloadStart + 24 + 1)).refused; // inside block 1 (12 f16 values, 24 bytes, per block)
  assert.deepEqual(refused.map((r) => r.index), [1]);
  assert.match(refused[0]!.reason, /checksum mismatch/);
});

test("frame checksum - an encoder asked for a version it cannot write says which it can", () => {
  assert.throws(
    () => encodeKvFrame({ component: "k", wireDtype: "f32", shape: TINY, blocks: [] }, { version: 3 as never }),
    (err) => err instanceof KvTransferError && err.reason === "invalid-input" && /version must be one of 1, 2, got 3/.test(err.message),
  );
});
