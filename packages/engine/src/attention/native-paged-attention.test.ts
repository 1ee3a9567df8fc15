import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { AttentionInputError } from "./attention-errors.js";
import { keySlotFloats, valueSlotFloats } from "./attention-heads.js";
import type { AttentionShape, KvElementType } from "./attention-kernel.js";
import { JsPagedAttention } from "./js-paged-attention.js";
import { DEFAULT_NATIVE_ATTENTION_PATH, NativePagedAttention, loadNativeAttention } from "./native-paged-attention.js";
import { DIFFQKV_SHAPE, GQA_SHAPE, ROWS, SEQ_LENGTHS, SIGMA_SHAPE, standardCase } from "./testing/attention-cases.js";
import { bitIdentical, maxAbsDifference, maxRelativeDifference } from "./testing/dense-attention.js";
import { batchOfRows, randomPagedCase, withTopk, type PagedCase } from "./testing/paged-cache-fixture.js";

const status = loadNativeAttention();
const skip = status.available ? false : `native addon not built (${status.reason}); run npm run build:native`;
const oracle = new JsPagedAttention();
/** Error allowed relative to each (row, head) output's scale (max |value|): f32 scores and sums against the f64 oracle. */
const TOLERANCE = 1e-5;

/**
 * Shapes that exercise each code path: head dims 16 and 24 (runtime-sized
 * loops, 24 with ragged lanes), 32, 64 and 128 (compiled), blocks shorter
 * than, equal to and twice the 16-row score kernel, clusters of 1, 2 and 8 Q
 * heads, and clusters spanning several K heads; K heads with 8, 6 and 2 Q
 * heads (scored 4, 4+2 and 2 at a time) and V heads with 2, 4 and 1 (PV 2 at
 * a time, or 1).
 */
const SHAPES: [string, AttentionShape][] = [
  ["DiffQKV 8/1/4", DIFFQKV_SHAPE],
  ["GQA 8/4/4", GQA_SHAPE],
  ["sigma-1.5b 32/4/16 d64", SIGMA_SHAPE],
  ["8/4/2 d32 (a V head across two K heads)", { numLayers: 2, numQueryHeads: 8, numKeyHeads: 4, numValueHeads: 2, headDim: 32, blockSizeTokens: 8 }],
  ["6/4/3 d24 (uneven mappings)", { numLayers: 1, numQueryHeads: 6, numKeyHeads: 4, numValueHeads: 3, headDim: 24, blockSizeTokens: 5 }],
  ["16/2/4 d128 bs32 (two 16-row score groups per block)", { numLayers: 2, numQueryHeads: 16, numKeyHeads: 2, numValueHeads: 4, headDim: 128, blockSizeTokens: 32 }],
  ["12/2/3 d64 bs32 (4 Q heads scored together, then 2, across two 16-row groups)", { numLayers: 1, numQueryHeads: 12, numKeyHeads: 2, numValueHeads: 3, headDim: 64, blockSizeTokens: 32 }],
];

/** K and V element types beyond f32/f32: each 16-bit type alone, both, and mixed. */
const DTYPES: [KvElementType, KvElementType][] = [
  ["bf16", "bf16"],
  ["f16", "f16"],
  ["bf16", "f16"],
  ["f16", "f32"],
  ["f32", "bf16"],
];

function caseFor(shape: AttentionShape, seed: number, topk = 0, dtypes: [KvElementType, KvElementType] = ["f32", "f32"]): PagedCase {
  const [kDtype, vDtype] = dtypes;
  if (shape.blockSizeTokens === 4) return randomPagedCase({ shape, seqLengths: SEQ_LENGTHS, rows: ROWS, layer: 1, topk, hostVFraction: 0.3, kDtype, vDtype, seed });
  // Larger blocks: longer sequences so each still spans many blocks.
  const seqLengths = [300, 90, 17];
  const rows = [{ seq: 0, pos: 299 }, { seq: 1, pos: 80 }, { seq: 1, pos: 81 }, { seq: 1, pos: 82 }, { seq: 2, pos: 16 }, { seq: 0, pos: 5 }];
  return randomPagedCase({ shape, seqLengths, rows, layer: shape.numLayers - 1, topk, hostVFraction: 0.3, kDtype, vDtype, seed });
}

/** One row's outputs do not depend on the batch it is in or the thread count (bit for bit). */
function checkBatchAndThreadInvariance(shape: AttentionShape, dtype: KvElementType): void {
  for (const topk of [0, 5]) {
    const c = caseFor(shape, 16, topk, [dtype, dtype]);
    const all = c.rows.map((_, i) => i);
    const reference = batchOfRows(c, all);
    new NativePagedAttention({ threads: 1 }).attend(c.shape, c.arenas, reference);
    const rowFloats = shape.numQueryHeads * shape.headDim;
    const rowOf = (out: Float32Array, i: number) => out.subarray(i * rowFloats, (i + 1) * rowFloats);
    for (const threads of [2, 3]) {
      const batch = batchOfRows(c, all);
      new NativePagedAttention({ threads }).attend(c.shape, c.arenas, batch);
      assert.ok(bitIdentical(batch.out, reference.out), `threads ${threads}, topk ${topk}`);
    }
    for (const i of all) {
      const alone = batchOfRows(c, [i]);
      new NativePagedAttention({ threads: 2 }).attend(c.shape, c.arenas, alone);
      assert.ok(bitIdentical(alone.out, rowOf(reference.out, i)), `row ${i} alone, topk ${topk}`);
    }
    const reversed = batchOfRows(c, [...all].reverse());
    new NativePagedAttention({ threads: 2 }).attend(c.shape, c.arenas, reversed);
    all.forEach((i, n) => assert.ok(bitIdentical(rowOf(reversed.out, all.length - 1 - n), rowOf(reference.out, i)), `row ${i} reversed`));
  }
}

describe("attention - the native kernel", { skip }, () => {
  for (const [label, shape] of SHAPES) {
    test(`equals the JS kernel within 1e-5 and reads the same bytes per tier, ${label}`, () => {
      for (const seed of [11, 12]) {
        const c = caseFor(shape, seed);
        const expected = withTopk(c.batch, 0);
        const expectedStats = oracle.attend(c.shape, c.arenas, expected);
        const stats = new NativePagedAttention().attend(c.shape, c.arenas, c.batch);
        const error = maxRelativeDifference(c.batch.out, expected.out, shape.headDim);
        assert.ok(error < TOLERANCE, `seed ${seed}: relative error ${error}`);
        assert.deepEqual(stats, expectedStats);
      }
    });

    test(`selective V matches the JS kernel's selection and reads exactly rows·heads·topk V rows, ${label}`, () => {
      const topk = 3;
      const c = caseFor(shape, 13, topk);
      const rows = c.rows.map((_, i) => i).filter((i) => c.rows[i]!.pos + 1 > topk);
      const batch = batchOfRows(c, rows);
      const expected = batchOfRows(c, rows);
      const expectedStats = oracle.attend(c.shape, c.arenas, expected);
      const stats = new NativePagedAttention().attend(c.shape, c.arenas, batch);
      const error = maxRelativeDifference(batch.out, expected.out, shape.headDim);
      assert.ok(error < TOLERANCE, `relative error ${error}`);
      assert.equal(stats.vBytesDevice + stats.vBytesHost, rows.length * shape.numQueryHeads * topk * shape.headDim * 4);
      assert.deepEqual(stats, expectedStats);
    });
  }

  test("a topk of at least the context gives the full-attention bits", () => {
    const c = caseFor(SIGMA_SHAPE, 14);
    const kernel = new NativePagedAttention();
    const full = withTopk(c.batch, 0);
    const fullStats = kernel.attend(c.shape, c.arenas, full);
    for (const topk of [300, 1_000_000]) {
      const capped = withTopk(c.batch, topk);
      assert.deepEqual(kernel.attend(c.shape, c.arenas, capped), fullStats);
      assert.ok(bitIdentical(capped.out, full.out), `topk ${topk}`);
    }
  });

  test("selective V breaks score ties in favour of the earlier position", () => {
    const c = randomPagedCase({ shape: SIGMA_SHAPE, seqLengths: [40], rows: [{ seq: 0, pos: 39 }], layer: 0, topk: 3, seed: 15 });
    c.arenas.kDevice.fill(0.25);
    const expected = withTopk(c.batch, 3);
    oracle.attend(c.shape, c.arenas, expected);
    new NativePagedAttention().attend(c.shape, c.arenas, c.batch);
    assert.ok(maxAbsDifference(c.batch.out, expected.out) < 1e-6);
  });

  for (const dtype of ["f32", "bf16", "f16"] as const) {
    for (const [label, shape] of [SHAPES[1]!, SHAPES[2]!]) {
      test(`a row's output has the same bits alone, in any batch, and on 1, 2 or 3 threads, ${label}, K and V in ${dtype}`, () => {
        checkBatchAndThreadInvariance(shape, dtype);
      });
    }
  }

  for (const dtypes of DTYPES) {
    const [kDtype, vDtype] = dtypes;
    test(`reads K in ${kDtype} and V in ${vDtype} in place: equals the JS kernel, the portable loops and the f32 arenas of the widened values`, () => {
      for (const [label, shape] of SHAPES) {
        for (const topk of [0, 4]) {
          const c = caseFor(shape, 21, topk, dtypes);
          const rows = c.rows.map((_, i) => i).filter((i) => topk === 0 || c.rows[i]!.pos + 1 > topk);
          const batch = batchOfRows(c, rows);
          const stats = new NativePagedAttention().attend(c.shape, c.arenas, batch);
          const js = batchOfRows(c, rows);
          assert.deepEqual(oracle.attend(c.shape, c.arenas, js), stats, `${label}, topk ${topk}: bytes`);
          const error = maxRelativeDifference(batch.out, js.out, shape.headDim);
          assert.ok(error < TOLERANCE, `${label}, topk ${topk}: relative error ${error}`);
          const portable = batchOfRows(c, rows);
          new NativePagedAttention({ portableLoops: true }).attend(c.shape, c.arenas, portable);
          assert.ok(bitIdentical(batch.out, portable.out), `${label}, topk ${topk}: AVX-512 vs portable`);
          const f32 = batchOfRows(c, rows);
          new NativePagedAttention().attend(c.shape, c.f32Arenas, f32);
          assert.ok(bitIdentical(batch.out, f32.out), `${label}, topk ${topk}: 16-bit vs f32 arenas`);
        }
      }
    });
  }

  test("refuses an arena whose array type does not match its element type, and the addon checks again itself", () => {
    const c = caseFor(SIGMA_SHAPE, 22, 0, ["bf16", "f16"]);
    const kernel = new NativePagedAttention();
    assert.throws(() => kernel.attend(c.shape, { ...c.arenas, kDtype: "f32" }, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "arenas.kDevice");
    assert.throws(() => kernel.attend(c.shape, { ...c.arenas, vHost: new Float32Array(0) }, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "arenas.vHost");
    const addon = createRequire(import.meta.url)(DEFAULT_NATIVE_ATTENTION_PATH) as { attend: (...args: unknown[]) => void };
    const { shape, arenas, batch } = c;
    const call = (kCode: number, vCode: number, vHost: unknown = arenas.vHost) => () =>
      addon.attend(arenas.kDevice, arenas.vDevice, vHost, batch.q, batch.out, batch.rowSeq, batch.rowPos, batch.seqBlockStart, batch.blockKSlot, batch.blockVSlot, batch.blockVTier, Int32Array.of(shape.numLayers, shape.numQueryHeads, shape.numKeyHeads, shape.numValueHeads, shape.headDim, shape.blockSizeTokens, batch.layer, 0, 2, 0, kCode, vCode, 0), new Float64Array(3));
    const mismatch = "attend: an arena's array type does not match its element type (f32: Float32Array, bf16/f16: Uint16Array)";
    assert.throws(call(0, 2), { name: "RangeError", message: mismatch });
    assert.throws(call(1, 2, new Float32Array(arenas.vHost.length)), { name: "RangeError", message: mismatch });
    assert.throws(call(3, 2), { name: "RangeError", message: "attend: an element type code is not 0 (f32), 1 (bf16) or 2 (f16)" });
    assert.throws(call(1, 2, new Int16Array(4)), { name: "TypeError", message: "attend: argument vHost must be a Float32Array or a Uint16Array" });
    assert.ok(batch.out.every((x) => Number.isNaN(x)));
    call(1, 2)();
    assert.ok(batch.out.every((x) => Number.isFinite(x)));
  });

  test("the AVX-512 score kernel gives the same bits as the portable loops a CPU without it runs", () => {
    for (const [label, shape] of SHAPES) {
      for (const topk of [0, 4]) {
        const c = caseFor(shape, 19, topk);
        const portable = withTopk(c.batch, topk);
        new NativePagedAttention({ portableLoops: true }).attend(c.shape, c.arenas, portable);
        new NativePagedAttention().attend(c.shape, c.arenas, c.batch);
        assert.ok(bitIdentical(c.batch.out, portable.out), `${label}, topk ${topk}`);
      }
    }
  });

  test("refuses a block table that points outside the arenas with a typed error, and the addon checks again itself", () => {
    const c = standardCase(GQA_SHAPE, 17);
    c.batch.blockVSlot[3] = 10_000;
    assert.throws(() => new NativePagedAttention().attend(c.shape, c.arenas, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "batch.blockVSlot");
    // Past the TS check: the C++ validation refuses the call before reading anything.
    const addon = createRequire(import.meta.url)(DEFAULT_NATIVE_ATTENTION_PATH) as { attend: (...args: unknown[]) => void };
    const { shape, arenas, batch } = c;
    const params = Int32Array.of(shape.numLayers, shape.numQueryHeads, shape.numKeyHeads, shape.numValueHeads, shape.headDim, shape.blockSizeTokens, batch.layer, 0, 2, 0, 0, 0, 0);
    const call = () => addon.attend(arenas.kDevice, arenas.vDevice, arenas.vHost, batch.q, batch.out, batch.rowSeq, batch.rowPos, batch.seqBlockStart, batch.blockKSlot, batch.blockVSlot, batch.blockVTier, params, new Float64Array(3));
    assert.throws(call, { name: "RangeError", message: "attend: a blockVSlot entry is outside its V arena" });
    assert.ok(batch.out.every((x) => Number.isNaN(x)));
  });

  test("the read roofline reads exactly the listed slots: its checksum is the wrapping sum of their 64-bit words", () => {
    const c = caseFor(SIGMA_SHAPE, 23, 0, ["bf16", "f32"]);
    const slots = Int32Array.from(c.batch.blockKSlot).reverse();
    for (const [arena, slotElements] of [[c.arenas.kDevice, keySlotFloats(SIGMA_SHAPE)], [c.arenas.vDevice, valueSlotFloats(SIGMA_SHAPE)]] as const) {
      const words = new BigUint64Array(arena.buffer, arena.byteOffset, arena.byteLength / 8);
      const slotWords = (slotElements * arena.BYTES_PER_ELEMENT) / 8;
      let expected = 0n;
      for (const s of slots) for (let i = s * slotWords; i < (s + 1) * slotWords; i++) expected += words[i]!;
      expected = BigInt.asUintN(64, expected);
      for (const threads of [1, 2, 3]) assert.equal(new NativePagedAttention({ threads }).streamSlots(arena, slotElements, slots), expected, `threads ${threads}`);
    }
    assert.throws(() => new NativePagedAttention().streamSlots(c.arenas.kDevice, keySlotFloats(SIGMA_SHAPE), Int32Array.of(1_000)), { name: "RangeError", message: "streamSlots: a slot is outside the arena" });
  });

  test("the profiling phases stop before V: no V bytes read, the same K bytes, and the full phase is attention", () => {
    const c = caseFor(SIGMA_SHAPE, 24, 0, ["bf16", "bf16"]);
    const full = withTopk(c.batch, 0);
    const fullStats = new NativePagedAttention().attend(c.shape, c.arenas, full);
    const all = withTopk(c.batch, 0);
    assert.deepEqual(new NativePagedAttention({ stopAfterPhase: "all" }).attend(c.shape, c.arenas, all), fullStats);
    assert.ok(bitIdentical(all.out, full.out));
    for (const stopAfterPhase of ["scores", "softmax"] as const) {
      const stats = new NativePagedAttention({ stopAfterPhase }).attend(c.shape, c.arenas, withTopk(c.batch, 0));
      assert.deepEqual(stats, { vBytesDevice: 0, vBytesHost: 0, kBytes: fullStats.kBytes }, stopAfterPhase);
    }
  });

  test("an empty batch reads nothing", () => {
    const c = randomPagedCase({ shape: DIFFQKV_SHAPE, seqLengths: SEQ_LENGTHS, rows: [], layer: 0, seed: 18 });
    assert.deepEqual(new NativePagedAttention().attend(c.shape, c.arenas, c.batch), { vBytesDevice: 0, vBytesHost: 0, kBytes: 0 });
  });
});

test("attention - the native addon is built on this machine", { skip: process.env.SIGMASERVE_REQUIRE_NATIVE_ATTENTION === "1" ? false : "set SIGMASERVE_REQUIRE_NATIVE_ATTENTION=1 to require it" }, () => {
  assert.equal(status.available, true, status.available ? "" : status.reason);
});
