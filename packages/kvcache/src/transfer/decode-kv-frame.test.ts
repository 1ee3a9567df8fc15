import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeKvFrame } from "./decode-kv-frame.js";
import { encodeKvFrame } from "./encode-kv-frame.js";
import { KvTransferError, type KvTransferErrorReason } from "./errors.js";
import { HASHES, SMALL_SHAPE, bitsOf, flipByte, makeBlocks, referenceCrc32c, resealTable } from "./testing/frame-fixtures.js";

const PAYLOAD_BYTES = 512; // SMALL_SHAPE in f32
const blocks = makeBlocks(SMALL_SHAPE, 3);
const frame = encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks });
const FIRST_PAYLOAD = 36 + 12 * 3;

/** Asserts `decode` throws a KvTransferError with this reason and message. */
function assertBroken(decode: () => unknown, reason: KvTransferErrorReason, message: string | RegExp): void {
  assert.throws(decode, (err) => {
    assert.ok(err instanceof KvTransferError, String(err));
    assert.equal(err.reason, reason, err.message);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test("transfer - a flipped byte in one block's payload refuses that block by hash; the other blocks decode", () => {
  const offset = FIRST_PAYLOAD + PAYLOAD_BYTES + 100; // inside block 1
  const corrupt = flipByte(frame, offset);
  const stored = referenceCrc32c(frame.subarray(FIRST_PAYLOAD + PAYLOAD_BYTES, FIRST_PAYLOAD + 2 * PAYLOAD_BYTES));
  const computed = referenceCrc32c(corrupt.subarray(FIRST_PAYLOAD + PAYLOAD_BYTES, FIRST_PAYLOAD + 2 * PAYLOAD_BYTES));
  const hex = (crc: number) => `0x${crc.toString(16).padStart(8, "0")}`;
  const decoded = decodeKvFrame(corrupt);
  assert.deepEqual(decoded.refused, [{ index: 1, hash: 0xffff_ffff_ffff_ffffn, reason: `block 0xffffffffffffffff checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)})` }]);
  assert.deepEqual(decoded.blocks.map((block) => block.hash), [HASHES[0], HASHES[2]]);
  assert.deepEqual(bitsOf(decoded.blocks[0]!.data), bitsOf(blocks[0]!.data));
  assert.deepEqual(bitsOf(decoded.blocks[1]!.data), bitsOf(blocks[2]!.data));
});

test("transfer - every block refuses a flipped byte anywhere in its payload", () => {
  for (let offset = FIRST_PAYLOAD; offset < frame.byteLength; offset += 7) {
    const index = Math.floor((offset - FIRST_PAYLOAD) / PAYLOAD_BYTES);
    const decoded = decodeKvFrame(flipByte(frame, offset));
    assert.deepEqual(decoded.refused.map((block) => block.index), [index], `byte ${offset}`);
    assert.equal(decoded.blocks.length, 2);
  }
});

test("transfer - a flipped byte anywhere in the header or block table rejects the whole frame", () => {
  // Documented choice: no block of a frame whose table is corrupt can be trusted,
  // so it is an error, not a refusal. Magic and version are reported as such.
  for (let offset = 0; offset < FIRST_PAYLOAD; offset++) {
    const corrupt = flipByte(frame, offset);
    if (offset < 4) assertBroken(() => decodeKvFrame(corrupt), "bad-magic", /^not a KV frame: magic is [0-9a-f ]+, expected 53 4b 56 31 \("SKV1"\)$/);
    else if (offset < 6) assertBroken(() => decodeKvFrame(corrupt), "unsupported-version", /^KV frame version \d+ is not supported \(this reader knows versions 1 and 2\)$/);
    else if (offset >= 24 && offset < 28) assertBroken(() => decodeKvFrame(corrupt), "truncated", /^KV frame is truncated: its header says \d+ blocks, whose table needs \d+ bytes, and the frame has 1608$/);
    else assertBroken(() => decodeKvFrame(corrupt), "table-checksum", /^KV frame header or block table is corrupt: table CRC-32C mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/);
  }
});

test("transfer - a truncated frame is an error that says how many bytes were needed", () => {
  assertBroken(() => decodeKvFrame(new Uint8Array(0)), "truncated", "KV frame is 0 bytes, shorter than its 32-byte header");
  assertBroken(() => decodeKvFrame(frame.subarray(0, 31)), "truncated", "KV frame is 31 bytes, shorter than its 32-byte header");
  assertBroken(() => decodeKvFrame(frame.subarray(0, 60)), "truncated", "KV frame is truncated: its header says 3 blocks, whose table needs 72 bytes, and the frame has 60");
  assertBroken(() => decodeKvFrame(frame.subarray(0, frame.byteLength - 1)), "truncated", "KV frame is truncated: 3 blocks of 512 bytes need 1608 bytes, and the frame has 1607");
  assertBroken(() => decodeKvFrame(frame.subarray(0, FIRST_PAYLOAD)), "truncated", "KV frame is truncated: 3 blocks of 512 bytes need 1608 bytes, and the frame has 72");
  const longer = new Uint8Array(frame.byteLength + 2);
  longer.set(frame);
  assertBroken(() => decodeKvFrame(longer), "trailing-bytes", "KV frame has 2 bytes after its last block (expected 1608 bytes in all)");
});

test("transfer - a sealed header with unknown codes or inconsistent lengths is an error naming the field", () => {
  const edit = (write: (view: DataView) => void): Uint8Array => {
    const copy = Uint8Array.from(frame);
    write(new DataView(copy.buffer));
    return resealTable(copy);
  };
  assertBroken(() => decodeKvFrame(edit((v) => v.setUint8(6, 2))), "unknown-component", "KV frame component code 2 is unknown (0 = k, 1 = v)");
  assertBroken(() => decodeKvFrame(edit((v) => v.setUint8(7, 3))), "unknown-dtype", "KV frame wire dtype code 3 is unknown (0 = f32, 1 = f16, 2 = bf16)");
  assertBroken(() => decodeKvFrame(edit((v) => v.setUint8(7, 1))), "inconsistent-lengths", "KV frame lengths are inconsistent: payload bytes per block is 512, but 2×2×4×8 f16 values need 256");
  assertBroken(() => decodeKvFrame(edit((v) => v.setUint32(12, 0, true))), "inconsistent-lengths", "KV frame shape has heads 0");
  const unknownVersion = Uint8Array.from(frame);
  unknownVersion[4] = 3;
  assertBroken(() => decodeKvFrame(unknownVersion), "unsupported-version", "KV frame version 3 is not supported (this reader knows versions 1 and 2)");
});

test("transfer - a header that claims gigabytes fails as truncated, before any array is made", () => {
  // 1024 layers × 1024 heads × 16 tokens × 64 dims in f16 = 2 GiB per block, and P says so.
  const lying = Uint8Array.from(frame);
  const view = new DataView(lying.buffer);
  view.setUint8(7, 1);
  [1024, 1024, 16, 64].forEach((dim, i) => view.setUint32(8 + 4 * i, dim, true));
  view.setUint32(28, 2 ** 31, true);
  assertBroken(() => decodeKvFrame(resealTable(lying)), "truncated", "KV frame is truncated: 3 blocks of 2147483648 bytes need 6442451016 bytes, and the frame has 1608");
  view.setUint32(28, 0, true);
  [65535, 65535, 65535, 65535].forEach((dim, i) => view.setUint32(8 + 4 * i, dim, true));
  assertBroken(() => decodeKvFrame(resealTable(lying)), "inconsistent-lengths", "KV frame lengths are inconsistent: payload bytes per block is 0, but 65535×65535×65535×65535 f16 values need more than the format's 4294967295");
});

test("transfer - a sound frame of another component or shape than expected is an error naming what differs", () => {
  assertBroken(() => decodeKvFrame(frame, { component: "v" }), "component-mismatch", "KV frame holds component k, expected v");
  assertBroken(() => decodeKvFrame(frame, { shape: { ...SMALL_SHAPE, heads: 8, headDim: 4 } }), "shape-mismatch", "KV frame shape mismatch: heads is 2, expected 8; headDim is 8, expected 4");
  assert.equal(decodeKvFrame(frame, { component: "k", shape: { ...SMALL_SHAPE } }).blocks.length, 3);
});

test("transfer - frames at an odd offset in a larger buffer decode the same (f16 and f32)", () => {
  for (const wireDtype of ["f16", "f32"] as const) {
    const aligned = encodeKvFrame({ component: "v", wireDtype, shape: SMALL_SHAPE, blocks });
    const backing = new Uint8Array(aligned.byteLength + 1);
    backing.set(aligned, 1);
    const odd = decodeKvFrame(backing.subarray(1));
    const even = decodeKvFrame(aligned);
    assert.equal(odd.blocks.length, 3);
    odd.blocks.forEach((block, i) => assert.deepEqual(bitsOf(block.data), bitsOf(even.blocks[i]!.data), wireDtype));
  }
});
