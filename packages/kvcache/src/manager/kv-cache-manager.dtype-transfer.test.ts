/**
 * Moving blocks between pools of different dtypes. A frame carries its
 * component's stored dtype and the stored bits as they are; an importer whose
 * pool stores another dtype converts (widening exact, narrowing rounded once
 * to nearest even) and counts it. The oracle for the bytes is the source
 * pool's own slots and the arithmetic roundings of the bf16 and f16 oracles.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KV_DTYPES, type KvDtype, type KvDtypes } from "../kv-types.js";
import { encodeKvFrame } from "../transfer/encode-kv-frame.js";
import { decodeKvFrame } from "../transfer/decode-kv-frame.js";
import { kvFrameShape } from "../transfer/kv-frame-layout.js";
import { readKvFrameHeader } from "../transfer/read-kv-frame-header.js";
import { oracleBf16Value, oracleRoundBf16 } from "../transfer/testing/bf16-oracle.js";
import { oracleF16Value, oracleRoundF16 } from "../transfer/testing/f16-oracle.js";
import { KvCacheManager } from "./kv-cache-manager.js";
import { PROMPT, SHAPE, slotData } from "./testing/transfer-fixtures.js";

const round = (dtype: KvDtype, x: number): number => (dtype === "f32" ? Math.fround(x) : dtype === "bf16" ? oracleRoundBf16(x) : oracleRoundF16(x));
const valueOf = (dtype: KvDtype, stored: number): number => (dtype === "f32" ? stored : dtype === "bf16" ? oracleBf16Value(stored) : oracleF16Value(stored));
const bytes = { k: { device: 1 << 16, host: 0 }, v: { device: 1 << 16, host: 0 } };

/** A pool of `dtype` holding PROMPT's 3 full blocks, written from values no 16-bit dtype keeps exactly. */
function source(dtype: KvDtypes) {
  const m = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes, dtype });
  m.allocate("a", { promptTokens: PROMPT });
  for (let p = 0; p < PROMPT.length; p++) {
    for (let layer = 0; layer < 2; layer++) {
      m.writeTokenKv("a", p, layer, Float32Array.from({ length: 4 }, (_, i) => (p * 10 + layer + i / 10) / 3), Float32Array.from({ length: 8 }, (_, i) => -(p * 10 + layer) / 7 - i / 10));
    }
  }
  m.commitTokens("a", PROMPT);
  m.free("a");
  const hashes = m.promptBlockHashes(PROMPT);
  return { m, hashes, parents: new Map(hashes.map((h, i) => [h, i === 0 ? null : hashes[i - 1]!])) };
}

test("kvcache transfer dtype - a frame carries the component's stored dtype and its raw bits", () => {
  const from = source({ k: "bf16", v: "f16" });
  const { frames } = from.m.exportBlocks(from.hashes);
  for (const [component, dtype] of [["k", "bf16"], ["v", "f16"]] as const) {
    const header = readKvFrameHeader(frames[component]);
    assert.equal(header.wireDtype, dtype);
    assert.equal(header.payloadBytesPerBlock, from.m.blockBytes[component], "the wire block is the stored block, byte for byte in size");
    const payload = new Uint16Array(frames[component].slice(header.payloadOffset).buffer);
    const stored = from.hashes.flatMap((hash) => slotData(from.m, hash, component));
    assert.deepEqual(Array.from(payload), stored, `${component}: the stored patterns, unconverted`);
  }
});

test("kvcache transfer dtype - between pools of every pair of dtypes, imported values are the source's converted once, and conversions are counted", () => {
  for (const fromDtype of KV_DTYPES) {
    for (const toDtype of KV_DTYPES) {
      const from = source({ k: fromDtype, v: fromDtype });
      const { frames } = from.m.exportBlocks(from.hashes);
      const into = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes, dtype: { k: toDtype, v: toDtype } });
      const result = into.importBlocks(frames, from.parents);
      assert.deepEqual(result, { imported: from.hashes, present: [], refused: [], noRoom: [] });
      const conversions = fromDtype === toDtype ? 0 : from.hashes.length;
      assert.deepEqual(into.importDtypeConversions, { k: conversions, v: conversions }, `${fromDtype} → ${toDtype}`);
      for (const hash of from.hashes) {
        for (const c of ["k", "v"] as const) {
          const expected = slotData(from.m, hash, c).map((x) => round(toDtype, valueOf(fromDtype, x)));
          assert.deepEqual(slotData(into, hash, c).map((x) => valueOf(toDtype, x)), expected, `${fromDtype} → ${toDtype} ${c}`);
          if (fromDtype === toDtype) assert.deepEqual(slotData(into, hash, c), slotData(from.m, hash, c), "same dtype: the bits themselves");
        }
      }
      assert.equal(into.allocate("b", { promptTokens: PROMPT })!.numCachedTokens, 6, "the imported prefix is a cache hit");
      assert.deepEqual(into.checkInvariants(), []);
    }
  }
});

test("kvcache transfer dtype - an export in an asked-for wire dtype converts on the way out; frames stream in K bf16 and V f16 to a mixed pool", () => {
  const from = source({ k: "f32", v: "f32" });
  const plan = from.m.exportFrames(from.hashes, { wireDtype: "bf16", maxFrameBytes: 1 });
  const frames = [...plan.frames()];
  assert.deepEqual(frames.map((f) => readKvFrameHeader(f.bytes).wireDtype), new Array(6).fill("bf16"));
  const into = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes, dtype: { k: "bf16", v: "f16" } });
  const session = into.beginImport({ parents: from.parents });
  const accepted = frames.map((f) => session.acceptFrame(f.bytes, f.component));
  assert.deepEqual(accepted.map((a) => [a.component, a.wireDtype, a.converted]), [
    ["k", "bf16", 0],
    ["k", "bf16", 0],
    ["k", "bf16", 0],
    ["v", "bf16", 1],
    ["v", "bf16", 1],
    ["v", "bf16", 1],
  ]);
  assert.deepEqual(session.finish().imported, from.hashes);
  assert.deepEqual(into.importDtypeConversions, { k: 0, v: 3 });
  for (const hash of from.hashes) {
    assert.deepEqual(slotData(into, hash, "k").map((x) => valueOf("bf16", x)), slotData(from.m, hash, "k").map((x) => round("bf16", x)));
    // f32 → bf16 on the wire, then bf16 → f16 in the importer: two roundings, each by the oracle.
    assert.deepEqual(slotData(into, hash, "v").map((x) => valueOf("f16", x)), slotData(from.m, hash, "v").map((x) => round("f16", round("bf16", x))));
  }
});

test("kvcache transfer dtype - an old f32 frame (format version 1, CRC-32) still imports into a bf16 pool, converted", () => {
  const from = source({ k: "f32", v: "f32" });
  const version1 = Object.fromEntries(
    (["k", "v"] as const).map((component) => {
      const blocks = decodeKvFrame(from.m.exportBlocks(from.hashes).frames[component]).blocks;
      return [component, encodeKvFrame({ component, wireDtype: "f32", shape: kvFrameShape(SHAPE, component, 2), blocks }, { version: 1 })];
    }),
  ) as Record<"k" | "v", Uint8Array>;
  assert.equal(readKvFrameHeader(version1.k).version, 1);
  const into = new KvCacheManager({ shape: SHAPE, blockSizeTokens: 2, modelId: "m", bytes, dtype: { k: "bf16", v: "bf16" } });
  assert.deepEqual(into.importBlocks(version1, from.parents).imported, from.hashes);
  assert.deepEqual(into.importDtypeConversions, { k: 3, v: 3 });
  for (const hash of from.hashes) assert.deepEqual(slotData(into, hash, "v").map((x) => valueOf("bf16", x)), slotData(from.m, hash, "v").map((x) => round("bf16", x)));
});

test("kvcache transfer dtype - a bf16 frame decodes to f32 exactly, and its checksum guards the 16-bit payload", () => {
  const from = source({ k: "bf16", v: "bf16" });
  const { frames } = from.m.exportBlocks(from.hashes);
  const decoded = decodeKvFrame(frames.v);
  assert.equal(decoded.wireDtype, "bf16");
  decoded.blocks.forEach((block, i) => assert.deepEqual(Array.from(block.data), slotData(from.m, from.hashes[i]!, "v").map((x) => valueOf("bf16", x))));
  const damaged = Uint8Array.from(frames.v);
  damaged[readKvFrameHeader(damaged).payloadOffset + 3]! ^= 0x01;
  assert.deepEqual(decodeKvFrame(damaged).refused.map((r) => r.index), [0]);
});
