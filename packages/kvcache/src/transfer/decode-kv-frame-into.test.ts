import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeKvFrameInto } from "./decode-kv-frame-into.js";
import { encodeKvFrame } from "./encode-kv-frame.js";
import { frameShapeElements, kvFrameShape } from "./kv-frame-layout.js";
import { HASHES, SMALL_SHAPE, bitsOf, flipByte, makeBlocks } from "./testing/frame-fixtures.js";
import { oracleRoundF16 } from "./testing/f16-oracle.js";

const ELEMENTS = frameShapeElements(SMALL_SHAPE);
const SENTINEL = -12345;

/** A pool of `slots` blocks, every value SENTINEL, and a destination handing out slot i for frame block i. */
function pool(slots: number) {
  const memory = new Float32Array(slots * ELEMENTS).fill(SENTINEL);
  const asked: number[] = [];
  const slot = (i: number) => memory.subarray(i * ELEMENTS, (i + 1) * ELEMENTS);
  return { memory, asked, slot, dest: (index: number) => (asked.push(index), slot(index)) };
}

test("transfer - import writes verified blocks straight into the pool's slots", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 3);
  const { asked, slot, dest } = pool(3);
  const result = decodeKvFrameInto(encodeKvFrame({ component: "v", wireDtype: "f16", shape: SMALL_SHAPE, blocks }), dest);
  assert.deepEqual(asked, [0, 1, 2]);
  assert.deepEqual(result.written, [0, 1, 2].map((index) => ({ index, hash: HASHES[index] })));
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(result.refused, []);
  blocks.forEach((block, i) => assert.deepEqual(Array.from(slot(i)), Array.from(block.data, oracleRoundF16)));
});

test("transfer - a corrupt block never asks for a slot and leaves the pool untouched; a null slot skips a block", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 3);
  const frame = encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks });
  const corrupt = flipByte(frame, 36 + 12 * 3 + 512 * 2 + 3); // block 2
  const { asked, slot, dest } = pool(3);
  const result = decodeKvFrameInto(corrupt, (index) => {
    if (index !== 0) return dest(index);
    asked.push(index);
    return null; // the importer holds block 0 already
  });
  assert.deepEqual(asked, [0, 1]);
  assert.deepEqual(result.skipped, [{ index: 0, hash: HASHES[0] }]);
  assert.deepEqual(result.written, [{ index: 1, hash: HASHES[1] }]);
  assert.deepEqual(result.refused.map((block) => [block.index, block.hash]), [[2, HASHES[2]]]);
  assert.match(result.refused[0]!.reason, /^block 0x0000000000000000 checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/);
  assert.deepEqual(Array.from(slot(0)), new Array(ELEMENTS).fill(SENTINEL));
  assert.deepEqual(bitsOf(slot(1)), bitsOf(blocks[1]!.data));
  assert.deepEqual(Array.from(slot(2)), new Array(ELEMENTS).fill(SENTINEL));
});

test("transfer - a header that does not match the caller's model is rejected before any slot is asked for", () => {
  const model = { num_hidden_layers: 2, num_key_heads: 1, num_value_heads: 2, head_dim: 8 };
  assert.deepEqual(kvFrameShape(model, "v", 4), SMALL_SHAPE);
  const frame = encodeKvFrame({ component: "v", wireDtype: "f32", shape: SMALL_SHAPE, blocks: makeBlocks(SMALL_SHAPE, 1) });
  const { asked, dest } = pool(1);
  assert.throws(() => decodeKvFrameInto(frame, dest, { component: "k", shape: kvFrameShape(model, "k", 4) }), { name: "KvTransferError", reason: "component-mismatch" });
  assert.throws(() => decodeKvFrameInto(frame, dest, { shape: kvFrameShape(model, "k", 4) }), { name: "KvTransferError", message: "KV frame shape mismatch: heads is 2, expected 1" });
  assert.deepEqual(asked, []);
});

test("transfer - a slot of the wrong length is a caller bug, reported before anything is written to it", () => {
  const frame = encodeKvFrame({ component: "v", wireDtype: "f32", shape: SMALL_SHAPE, blocks: makeBlocks(SMALL_SHAPE, 1) });
  const short = new Float32Array(ELEMENTS - 1).fill(SENTINEL);
  assert.throws(() => decodeKvFrameInto(frame, () => short), {
    name: "KvTransferError",
    reason: "destination-length",
    message: "destination for block 0 (0x00ab12cd34ef5678) is a Float32Array of 127 values; the frame's blocks have 128, stored here as f32",
  });
  assert.ok(short.every((value) => value === SENTINEL));
});
