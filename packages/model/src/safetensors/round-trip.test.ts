import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Tensor, TensorMap } from "../tensor.js";
import { roundToBf16 } from "./bfloat16.js";
import { roundToF16 } from "./float16.js";
import { readSafetensors } from "./read-safetensors.js";
import { bitsOf } from "./testing/build-file.js";
import { writeSafetensors } from "./write-safetensors.js";

/** Shapes from scalars `[]` to rank 4, zero-size dims included. */
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

const tensorArb: fc.Arbitrary<Tensor> = shapeArb.chain((shape) => {
  const count = shape.reduce((product, dim) => product * dim, 1);
  return fc.float32Array({ minLength: count, maxLength: count }).map((data) => ({ shape, data }));
});

/** Any names (full Unicode, empty included) except the reserved one. */
const nameArb = fc.string({ unit: "binary", maxLength: 12 }).filter((name) => name !== "__metadata__");

const tensorMapArb: fc.Arbitrary<TensorMap> = fc
  .uniqueArray(fc.tuple(nameArb, tensorArb), { selector: ([name]) => name, maxLength: 6 })
  .map((entries) => new Map(entries));

const metadataArb = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), {
  selector: ([key]) => key,
  maxLength: 3,
}).map((entries) => Object.fromEntries(entries));

/** The map as comparable plain data: name → [shape, bit patterns], in name order. */
function snapshot(tensors: TensorMap, transform: (data: Float32Array) => Float32Array = (data) => data) {
  return [...tensors]
    .map(([name, tensor]) => [name, [...tensor.shape], bitsOf(transform(tensor.data))] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

test("safetensors - random tensor maps round-trip through f32 bit for bit", () => {
  fc.assert(
    fc.property(tensorMapArb, metadataArb, (tensors, metadata) => {
      const read = readSafetensors(writeSafetensors(tensors, { dtype: "f32", metadata }));
      assert.deepEqual(snapshot(read.tensors), snapshot(tensors));
      assert.deepEqual(read.metadata, metadata);
      assert.deepEqual([...read.storedDtypes.values()], [...tensors.keys()].map(() => "f32"));
    }),
    { numRuns: 300 },
  );
});

test("safetensors - random tensor maps round-trip through f16 and bf16 as roundToF16 / roundToBf16 of the input", () => {
  const rounders = { f16: roundToF16, bf16: roundToBf16 } as const;
  fc.assert(
    fc.property(tensorMapArb, fc.constantFrom("f16" as const, "bf16" as const), (tensors, dtype) => {
      const file = writeSafetensors(tensors, { dtype });
      const read = readSafetensors(file);
      assert.deepEqual(snapshot(read.tensors), snapshot(tensors, rounders[dtype]));
      assert.deepEqual(new Set(read.storedDtypes.values()), new Set(tensors.size > 0 ? [dtype] : []));
      // Stored values are already representable: writing them again changes nothing.
      assert.deepEqual(writeSafetensors(read.tensors, { dtype }), file);
    }),
    { numRuns: 300 },
  );
});
