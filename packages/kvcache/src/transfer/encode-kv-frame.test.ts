import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeKvFrame } from "./decode-kv-frame.js";
import { encodeKvFrame } from "./encode-kv-frame.js";
import { KvTransferError } from "./errors.js";
import { frameShapeElements, type KvFrameShape, type KvWireDtype } from "./kv-frame-layout.js";
import { HASHES, SMALL_SHAPE, bitsOf, makeBlocks, referenceCrc32c } from "./testing/frame-fixtures.js";
import { oracleRoundF16 } from "./testing/f16-oracle.js";

test("transfer - a frame is laid out byte for byte as kv-frame-layout.ts documents", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 2);
  const frame = encodeKvFrame({ component: "v", wireDtype: "f16", shape: SMALL_SHAPE, blocks });
  const payloadBytes = 128 * 2;
  assert.equal(frame.byteLength, 36 + 12 * 2 + 2 * payloadBytes);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  assert.deepEqual(Array.from(frame.subarray(0, 8)), [0x53, 0x4b, 0x56, 0x31, 2, 0, 1, 1]);
  assert.deepEqual([8, 12, 16, 20, 24, 28].map((offset) => view.getUint32(offset, true)), [2, 2, 4, 8, 2, payloadBytes]);
  const firstPayload = 36 + 24;
  for (const [i, block] of blocks.entries()) {
    assert.equal(view.getBigUint64(32 + 12 * i, true), block.hash);
    const payload = frame.subarray(firstPayload + i * payloadBytes, firstPayload + (i + 1) * payloadBytes);
    assert.equal(view.getUint32(40 + 12 * i, true), referenceCrc32c(payload));
  }
  assert.equal(view.getUint32(56, true), referenceCrc32c(frame.subarray(0, 56)));
  assert.equal(view.getUint16(firstPayload, true), 0x0000, "block 0 value 0 is sin(0) = 0");
  assert.equal(view.getUint16(firstPayload + 2, true), 0x26bb, "block 0 value 1 is sin(1) × 2^-5 = 0.0262959… → f16 0x26bb (2^-6 × 1723/1024)");
});

test("transfer - f32 blocks round-trip bit for bit, NaN payloads and −0 included", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 3);
  const bits = new Uint32Array(blocks[1]!.data.buffer);
  bits[0] = 0x7fc0_1234; // a NaN with a payload
  bits[1] = 0x8000_0000; // −0
  bits[2] = 0x0000_0001; // the smallest f32 subnormal
  const frame = encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks });
  assert.equal(frame.byteLength, 36 + 12 * 3 + 3 * 512);
  const decoded = decodeKvFrame(frame);
  assert.equal(decoded.component, "k");
  assert.equal(decoded.wireDtype, "f32");
  assert.deepEqual(decoded.shape, SMALL_SHAPE);
  assert.deepEqual(decoded.refused, []);
  assert.deepEqual(
    decoded.blocks.map((block) => block.hash),
    HASHES.slice(0, 3),
  );
  decoded.blocks.forEach((block, i) => assert.deepEqual(bitsOf(block.data), bitsOf(blocks[i]!.data)));
});

test("transfer - f16 on the wire is each value rounded to the nearest f16, ties to even", () => {
  const [block] = makeBlocks(SMALL_SHAPE, 1);
  const data = block!.data;
  data.set([1 + Math.pow(2, -11), 1 + 3 * Math.pow(2, -11), 65519, 65520, -1e-8, Math.pow(2, -25), 3e-5, -0]);
  const decoded = decodeKvFrame(encodeKvFrame({ component: "v", wireDtype: "f16", shape: SMALL_SHAPE, blocks: [block!] }));
  const values = Array.from(decoded.blocks[0]!.data);
  assert.deepEqual(values.slice(0, 8), [1, 1 + Math.pow(2, -9), 65504, Infinity, -0, 0, oracleRoundF16(3e-5), -0]);
  assert.deepEqual(values, Array.from(data, oracleRoundF16));
});

test("transfer - an empty frame is 36 bytes and decodes to no blocks", () => {
  const frame = encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks: [] });
  assert.equal(frame.byteLength, 36);
  assert.deepEqual(decodeKvFrame(frame), { component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks: [], refused: [] });
});

test("transfer - encoding refuses input that does not match the shape, naming the block", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 2);
  const cases: [() => unknown, string][] = [
    [() => encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks: [blocks[0]!, { hash: 1n, data: new Float32Array(127) }] }), "cannot encode KV frame: blocks[1].data has 127 values, the shape needs 128"],
    [() => encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks: [{ hash: 1n << 64n, data: blocks[0]!.data }] }), `cannot encode KV frame: blocks[0].hash must be a bigint in [0, 2^64), got ${1n << 64n}`],
    [() => encodeKvFrame({ component: "k", wireDtype: "f32", shape: { ...SMALL_SHAPE, heads: 0 }, blocks: [] }), "cannot encode KV frame: shape.heads must be an integer in [1, 4294967295], got 0"],
    [() => encodeKvFrame({ component: "q" as "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks: [] }), "cannot encode KV frame: component must be one of k, v, got q"],
    [() => encodeKvFrame({ component: "k", wireDtype: "f8" as "f16", shape: SMALL_SHAPE, blocks: [] }), "cannot encode KV frame: wireDtype must be one of f32, f16, bf16, got f8"],
    [() => encodeKvFrame({ component: "k", wireDtype: "f16", dataDtype: "bf16", shape: SMALL_SHAPE, blocks: [{ hash: 1n, data: new Float32Array(128) }] }), "cannot encode KV frame: blocks[0].data is a Float32Array, but dataDtype bf16 is stored in a Uint16Array"],
  ];
  for (const [encode, message] of cases) assert.throws(encode, { name: "KvTransferError", reason: "invalid-input", message });
  assert.throws(() => encodeKvFrame({ component: "k", wireDtype: "f32", shape: { layers: 65536, heads: 65536, blockSizeTokens: 1, headDim: 1 }, blocks: [] }), (err) => {
    assert.ok(err instanceof KvTransferError);
    assert.equal(err.reason, "too-large");
    return true;
  });
});

test("transfer - any frame round-trips: f32 exactly, f16 as the oracle rounds", () => {
  const shapeArb = fc.record({ layers: fc.integer({ min: 1, max: 3 }), heads: fc.integer({ min: 1, max: 3 }), blockSizeTokens: fc.integer({ min: 1, max: 4 }), headDim: fc.integer({ min: 1, max: 5 }) });
  const frameArb = shapeArb.chain((shape: KvFrameShape) => {
    const elements = frameShapeElements(shape);
    return fc.record({
      shape: fc.constant(shape),
      component: fc.constantFrom("k" as const, "v" as const),
      wireDtype: fc.constantFrom<KvWireDtype>("f32", "f16"),
      blocks: fc.array(fc.record({ hash: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), data: fc.float32Array({ minLength: elements, maxLength: elements }) }), { maxLength: 5 }),
    });
  });
  fc.assert(
    fc.property(frameArb, (input) => {
      const decoded = decodeKvFrame(encodeKvFrame(input), { component: input.component, shape: input.shape });
      assert.equal(decoded.refused.length, 0);
      assert.deepEqual(decoded.blocks.map((block) => block.hash), input.blocks.map((block) => block.hash));
      decoded.blocks.forEach((block, i) => {
        const sent = input.blocks[i]!.data;
        if (input.wireDtype === "f32") assert.deepEqual(bitsOf(block.data), bitsOf(sent));
        else assert.deepEqual(Array.from(block.data), Array.from(sent, oracleRoundF16));
      });
    }),
    { numRuns: 300 },
  );
});

test("transfer - encoding into a caller's buffer, even at an odd offset, writes the same bytes", () => {
  const blocks = makeBlocks(SMALL_SHAPE, 2);
  for (const wireDtype of ["f32", "f16"] as const) {
    const fresh = encodeKvFrame({ component: "k", wireDtype, shape: SMALL_SHAPE, blocks });
    const backing = new Uint8Array(fresh.byteLength + 10).fill(0xee);
    const frame = encodeKvFrame({ component: "k", wireDtype, shape: SMALL_SHAPE, blocks }, { into: backing.subarray(1) });
    assert.equal(frame.byteOffset, 1);
    assert.deepEqual(Array.from(frame), Array.from(fresh), wireDtype);
    assert.deepEqual([backing[0], backing[fresh.byteLength + 1]], [0xee, 0xee], "nothing written outside the frame");
  }
  assert.throws(() => encodeKvFrame({ component: "k", wireDtype: "f32", shape: SMALL_SHAPE, blocks }, { into: new Uint8Array(100) }), {
    name: "KvTransferError",
    reason: "invalid-input",
    message: "cannot encode KV frame: the frame needs 1084 bytes, the buffer given has 100",
  });
});
