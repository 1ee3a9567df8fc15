import assert from "node:assert/strict";
import { test } from "node:test";
import type { TensorMap } from "../tensor.js";
import { readSafetensors } from "./read-safetensors.js";
import { writeSafetensors } from "./write-safetensors.js";

/** The header JSON of a written file, padding stripped. */
function headerText(file: Uint8Array): string {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(file.subarray(8, 8 + length)).trimEnd();
}

function vector(...values: number[]): { shape: number[]; data: Float32Array } {
  return { shape: [values.length], data: Float32Array.from(values) };
}

test("safetensors - the golden file: one F32 tensor a = [1, -2], byte for byte", () => {
  // 54 bytes of JSON + 2 spaces of padding = 56, so the data starts at 64.
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ';
  const golden = Uint8Array.from([
    ...[56, 0, 0, 0, 0, 0, 0, 0],
    ...new TextEncoder().encode(header),
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
    ...[0x00, 0x00, 0x00, 0xc0], // -2.0f little-endian
  ]);
  assert.equal(golden.length, 72);

  const written = writeSafetensors(new Map([["a", vector(1, -2)]]), { dtype: "f32" });
  assert.deepEqual(written, golden);

  const read = readSafetensors(golden);
  assert.deepEqual([...read.tensors.keys()], ["a"]);
  assert.deepEqual(read.tensors.get("a")?.shape, [2]);
  assert.deepEqual([...(read.tensors.get("a")?.data ?? [])], [1, -2]);
  assert.deepEqual(read.storedDtypes, new Map([["a", "f32"]]));
  assert.deepEqual(read.metadata, {});
});

test("safetensors - the same tensors give byte-identical files, whatever the insertion order", () => {
  const forward: TensorMap = new Map([
    ["b", vector(1, 2, 3)],
    ["a", { shape: [2, 2], data: Float32Array.from([0.5, -0.5, 0.25, 8]) }],
  ]);
  const backward: TensorMap = new Map([...forward].reverse());
  const metadata = { z: "last", a: "first" };
  for (const dtype of ["f32", "f16", "bf16"] as const) {
    const first = writeSafetensors(forward, { dtype, metadata });
    assert.deepEqual(writeSafetensors(forward, { dtype, metadata }), first);
    assert.deepEqual(writeSafetensors(backward, { dtype, metadata: { a: "first", z: "last" } }), first);
  }
});

test("safetensors - tensors are laid out in code-point order of their names, metadata first", () => {
  const names = ["b", "a", "10", "2", "é", "z", "😀", "\uffff", "A"];
  const tensors: TensorMap = new Map(names.map((name) => [name, vector(0)]));
  const file = writeSafetensors(tensors, { dtype: "bf16", metadata: { "format": "pt", "10": "x" } });
  const order = ["10", "2", "A", "a", "b", "z", "é", "\uffff", "😀"];
  const entries = order.map((name, i) => `${JSON.stringify(name)}:{"dtype":"BF16","shape":[1],"data_offsets":[${2 * i},${2 * i + 2}]}`);
  assert.equal(headerText(file), `{"__metadata__":{"10":"x","format":"pt"},${entries.join(",")}}`);
  assert.deepEqual([...readSafetensors(file).tensors.keys()], order);
});

test("safetensors - the header is padded with spaces so the data starts on an 8-byte boundary", () => {
  for (let nameLength = 1; nameLength <= 8; nameLength++) {
    const name = "x".repeat(nameLength);
    const file = writeSafetensors(new Map([[name, vector(1)]]), { dtype: "f16" });
    const json = `{"${name}":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`;
    const padding = " ".repeat((8 - (json.length % 8)) % 8);
    const headerBytes = Number(new DataView(file.buffer).getBigUint64(0, true));
    assert.equal(headerBytes, json.length + padding.length);
    assert.equal(headerBytes % 8, 0);
    assert.equal(new TextDecoder().decode(file.subarray(8, 8 + headerBytes)), json + padding);
    assert.deepEqual([...file.subarray(8 + headerBytes)], [0x00, 0x3c]);
  }
});

test("safetensors - an empty map writes a header of {} padded to 8 and no data", () => {
  assert.deepEqual(writeSafetensors(new Map(), { dtype: "f32" }), Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]));
});

test("safetensors - f16 and bf16 data is little-endian storage bits", () => {
  const tensors = new Map([["w", vector(1, -2, 65520)]]);
  const f16 = writeSafetensors(tensors, { dtype: "f16" });
  assert.deepEqual([...f16.subarray(-6)], [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c]);
  const bf16 = writeSafetensors(tensors, { dtype: "bf16" });
  assert.deepEqual([...bf16.subarray(-6)], [0x80, 0x3f, 0x00, 0xc0, 0x80, 0x47]);
});

test("safetensors - the writer refuses inconsistent tensors and options, naming them", () => {
  assert.throws(() => writeSafetensors(new Map([["w", { shape: [2, 2], data: new Float32Array(3) }]]), { dtype: "f32" }), {
    name: "SafetensorsError",
    reason: "invalid-input",
    tensor: "w",
    message: 'tensor "w" has 3 elements but shape [2,2] holds 4',
  });
  assert.throws(() => writeSafetensors(new Map([["w", { shape: [-1], data: new Float32Array(0) }]]), { dtype: "f32" }), {
    reason: "invalid-input",
    message: 'tensor "w" has shape [-1]; dims must be non-negative integers',
  });
  assert.throws(() => writeSafetensors(new Map([["__metadata__", vector(1)]]), { dtype: "f32" }), {
    reason: "invalid-input",
    message: 'tensor "__metadata__" cannot be stored: __metadata__ is reserved for metadata',
  });
  assert.throws(() => writeSafetensors(new Map(), { dtype: "f64" as never }), {
    reason: "invalid-input",
    message: 'dtype must be "f32", "f16" or "bf16", got "f64"',
  });
  assert.throws(() => writeSafetensors(new Map(), { dtype: "f32", metadata: { step: 3 as never } }), {
    reason: "invalid-input",
    message: 'metadata "step" must be a string, got a number',
  });
});

test("safetensors - a tensor whose data is a view into a larger buffer writes only its own elements", () => {
  const backing = Float32Array.from([9, 1, -2, 9]);
  const file = writeSafetensors(new Map([["a", { shape: [2], data: backing.subarray(1, 3) }]]), { dtype: "f32" });
  assert.deepEqual(file, writeSafetensors(new Map([["a", vector(1, -2)]]), { dtype: "f32" }));
});
