import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AttentionInputError } from "./attention-errors.js";
import { JsPagedAttention } from "./js-paged-attention.js";
import { DIFFQKV_SHAPE, GQA_SHAPE, ROWS, SEQ_LENGTHS, standardCase } from "./testing/attention-cases.js";
import { bitIdentical, denseAttention, maxAbsDifference } from "./testing/dense-attention.js";
import { randomPagedCase, withTopk } from "./testing/paged-cache-fixture.js";
import type { KvElementType } from "./attention-kernel.js";

const kernel = new JsPagedAttention();
const ROW_BYTES = 16 * 4;
/** Σ over rows of attended positions. */
const TOTAL_POSITIONS = ROWS.reduce((sum, r) => sum + r.pos + 1, 0);

describe("attention - the JS kernel", () => {
  for (const [label, shape] of [
    ["DiffQKV 8/1/4", DIFFQKV_SHAPE],
    ["GQA 8/4/4", GQA_SHAPE],
  ] as const) {
    test(`equals dense attention for ${label} over shuffled paged blocks, prefill and decode rows, V partly on the host`, () => {
      for (const seed of [1, 2, 3]) {
        const c = standardCase(shape, seed);
        kernel.attend(c.shape, c.arenas, c.batch);
        assert.ok(maxAbsDifference(c.batch.out, denseAttention(c, 0)) < 1e-6, `seed ${seed}`);
      }
    });

    test(`counts K bytes per K head and V bytes per V head and tier for ${label}`, () => {
      const c = standardCase(shape, 4);
      const stats = kernel.attend(c.shape, c.arenas, c.batch);
      assert.equal(stats.kBytes, TOTAL_POSITIONS * shape.numKeyHeads * ROW_BYTES);
      let hostPositions = 0;
      for (const { seq, pos } of ROWS) {
        for (let p = 0; p <= pos; p++) hostPositions += c.batch.blockVTier[c.batch.seqBlockStart[seq]! + Math.floor(p / shape.blockSizeTokens)]!;
      }
      assert.ok(hostPositions > 0, "the case puts some attended V blocks on the host");
      assert.equal(stats.vBytesHost, hostPositions * shape.numValueHeads * ROW_BYTES);
      assert.equal(stats.vBytesDevice, (TOTAL_POSITIONS - hostPositions) * shape.numValueHeads * ROW_BYTES);
    });
  }

  for (const [kDtype, vDtype] of [["bf16", "bf16"], ["f16", "f16"], ["bf16", "f32"], ["f32", "f16"]] as [KvElementType, KvElementType][]) {
    test(`reads K in ${kDtype} and V in ${vDtype} in place: dense attention over the widened values, bytes at the stored width`, () => {
      for (const topk of [0, 4]) {
        const rows = ROWS.filter((r) => r.pos + 1 > topk);
        const c = randomPagedCase({ shape: DIFFQKV_SHAPE, seqLengths: SEQ_LENGTHS, rows, layer: 1, topk, hostVFraction: 0.3, kDtype, vDtype, seed: 9 });
        assert.ok(c.arenas.kDevice instanceof (kDtype === "f32" ? Float32Array : Uint16Array));
        const stats = kernel.attend(c.shape, c.arenas, c.batch);
        assert.ok(maxAbsDifference(c.batch.out, denseAttention(c, topk)) < 1e-6, `topk ${topk}`);
        const positions = rows.reduce((sum, r) => sum + r.pos + 1, 0);
        const width = (t: KvElementType) => (t === "f32" ? 4 : 2);
        assert.equal(stats.kBytes, positions * DIFFQKV_SHAPE.numKeyHeads * 16 * width(kDtype));
        const vRows = topk === 0 ? positions * DIFFQKV_SHAPE.numValueHeads : rows.length * DIFFQKV_SHAPE.numQueryHeads * topk;
        assert.equal(stats.vBytesDevice + stats.vBytesHost, vRows * 16 * width(vDtype));
        // The same values in f32 arenas: the same bits out (the widening is exact and the arithmetic the same).
        const f32Out = withTopk(c.batch, topk);
        kernel.attend(c.shape, c.f32Arenas, f32Out);
        assert.ok(bitIdentical(f32Out.out, c.batch.out));
      }
    });
  }

  test("refuses an arena whose array type does not match its element type, or an unknown type", () => {
    const c = standardCase(GQA_SHAPE, 10);
    const mismatched = [
      { ...c.arenas, kDtype: "bf16" as const },
      { ...c.arenas, vDtype: "f16" as const },
      { ...c.arenas, vHost: new Uint16Array(c.arenas.vHost.length) },
    ];
    for (const [i, arenas] of mismatched.entries()) {
      const field = ["arenas.kDevice", "arenas.vDevice", "arenas.vHost"][i]!;
      assert.throws(() => kernel.attend(c.shape, arenas, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === field, field);
    }
    const unknown = { ...c.arenas, kDtype: "f8" as KvElementType };
    assert.throws(() => kernel.attend(c.shape, unknown, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "arenas.kDtype");
    assert.ok(c.batch.out.every((x) => Number.isNaN(x)));
  });

  test("a topk of at least the context gives the full-attention bits", () => {
    const c = standardCase(DIFFQKV_SHAPE, 5);
    const full = withTopk(c.batch, 0);
    const fullStats = kernel.attend(c.shape, c.arenas, full);
    for (const topk of [64, 1_000_000]) {
      const capped = withTopk(c.batch, topk);
      assert.deepEqual(kernel.attend(c.shape, c.arenas, capped), fullStats);
      assert.ok(bitIdentical(capped.out, full.out), `topk ${topk}`);
    }
  });

  test("selective V keeps the top-k scores, renormalises over them and reads exactly rows·heads·topk V rows", () => {
    const topk = 4;
    const rows = ROWS.filter((r) => r.pos + 1 > topk);
    for (const shape of [DIFFQKV_SHAPE, GQA_SHAPE]) {
      const c = randomPagedCase({ shape, seqLengths: SEQ_LENGTHS, rows, layer: 0, topk, hostVFraction: 0.3, seed: 6 });
      const stats = kernel.attend(c.shape, c.arenas, c.batch);
      assert.ok(maxAbsDifference(c.batch.out, denseAttention(c, topk)) < 1e-6);
      assert.equal(stats.vBytesDevice + stats.vBytesHost, rows.length * shape.numQueryHeads * topk * ROW_BYTES);
      assert.equal(stats.kBytes, rows.reduce((sum, r) => sum + r.pos + 1, 0) * shape.numKeyHeads * ROW_BYTES);
    }
  });

  test("selective V breaks score ties in favour of the earlier position", () => {
    // Every K row equal: all scores tie, so topk 3 keeps positions 0, 1, 2 with equal weights.
    const c = randomPagedCase({ shape: GQA_SHAPE, seqLengths: [20], rows: [{ seq: 0, pos: 19 }], layer: 1, topk: 3, seed: 7 });
    c.arenas.kDevice.fill(0.25);
    kernel.attend(c.shape, c.arenas, c.batch);
    const { numQueryHeads: nq, numValueHeads: nv, headDim: d } = GQA_SHAPE;
    for (let h = 0; h < nq; h++) {
      const vh = Math.floor((h * nv) / nq);
      const v = (p: number) => c.values[0]!.subarray(((1 * nv + vh) * 20 + p) * d, ((1 * nv + vh) * 20 + p + 1) * d);
      const expected = Array.from({ length: d }, (_, i) => (v(0)[i]! + v(1)[i]! + v(2)[i]!) / 3);
      assert.ok(maxAbsDifference(c.batch.out.subarray(h * d, (h + 1) * d), expected) < 1e-6, `head ${h}`);
    }
  });

  test("refuses a block table that points outside the arenas, naming the field, before writing anything", () => {
    const c = standardCase(GQA_SHAPE, 8);
    c.batch.blockKSlot[2] = 1_000;
    assert.throws(() => kernel.attend(c.shape, c.arenas, c.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "batch.blockKSlot");
    assert.ok(c.batch.out.every((x) => Number.isNaN(x)));
    const d = standardCase(GQA_SHAPE, 8);
    d.batch.rowPos[7] = 12; // row 7 is sequence 1: 9 tokens in 3 blocks of 4, so position 12 would be in a 4th block
    assert.throws(() => kernel.attend(d.shape, d.arenas, d.batch), (e: unknown) => e instanceof AttentionInputError && e.field === "batch.rowPos");
  });
});
