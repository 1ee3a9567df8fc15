import assert from "node:assert/strict";
import { test } from "node:test";
import { SafetensorsError } from "./errors.js";
import { readSafetensors } from "./read-safetensors.js";
import { bitsOf, buildFile, f32Bytes, u16Bytes } from "./testing/build-file.js";

/** A header entry as JSON text. */
function entry(name: string, dtype: string, shape: number[], begin: number, end: number): string {
  return `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;
}

/** Asserts `bytes` are refused with exactly this reason, tensor and message. */
function assertRefused(bytes: Uint8Array, expected: { reason: string; tensor?: string; message: string }): void {
  assert.throws(
    () => readSafetensors(bytes),
    (error: unknown) => {
      assert.ok(error instanceof SafetensorsError, `not a SafetensorsError: ${String(error)}`);
      assert.equal(error.name, "SafetensorsError");
      assert.deepEqual(
        { reason: error.reason, tensor: error.tensor, message: error.message },
        { tensor: undefined, ...expected },
      );
      return true;
    },
  );
}

test("safetensors - a file written elsewhere, with metadata, mixed dtypes and an odd data offset, reads back", () => {
  // Unpadded 231-byte header: the data buffer starts at absolute byte 239, so
  // every tensor sits at an address that is not a multiple of 4 (or of 2).
  const header = `{"__metadata__":{"format":"pt","source":"hand-made"},${[
    entry("z.f32", "F32", [2], 0, 8),
    entry("a.f16", "F16", [3], 8, 14),
    entry("m.bf16", "BF16", [1, 2], 14, 18),
  ].join(",")}}`;
  const data = [...f32Bytes(1.5, -0.25), ...u16Bytes(0x3c00, 0xc000, 0x7bff), ...u16Bytes(0x3f80, 0xbf40)];
  const file = buildFile(header, data);
  assert.equal(header.length, 231);

  // And the file itself starts at an odd offset of a larger buffer, which puts
  // the 16-bit tensors on even addresses: both the copy and the view path run.
  const shifted = new Uint8Array(file.length + 1);
  shifted.set(file, 1);
  for (const bytes of [file, shifted.subarray(1)]) {
    const read = readSafetensors(bytes);
    assert.deepEqual(read.metadata, { format: "pt", source: "hand-made" });
    assert.deepEqual([...read.tensors.keys()], ["z.f32", "a.f16", "m.bf16"]);
    assert.deepEqual(read.storedDtypes, new Map([["z.f32", "f32"], ["a.f16", "f16"], ["m.bf16", "bf16"]]));
    assert.deepEqual([...(read.tensors.get("z.f32")?.data ?? [])], [1.5, -0.25]);
    assert.deepEqual([...(read.tensors.get("a.f16")?.data ?? [])], [1, -2, 65504]);
    assert.deepEqual(read.tensors.get("m.bf16")?.shape, [1, 2]);
    assert.deepEqual([...(read.tensors.get("m.bf16")?.data ?? [])], [1, -0.75]);
  }
});

test("safetensors - scalars and zero-size tensors read back, zero-size ones sharing an offset", () => {
  const header = `{${[entry("empty", "F32", [0, 3], 0, 0), entry("scalar", "F16", [], 0, 2), entry("none", "BF16", [2, 0], 2, 2)].join(",")}}`;
  const read = readSafetensors(buildFile(header, u16Bytes(0x3800)));
  assert.deepEqual(read.tensors.get("scalar"), { shape: [], data: Float32Array.from([0.5]) });
  assert.deepEqual(read.tensors.get("empty"), { shape: [0, 3], data: new Float32Array(0) });
  assert.deepEqual(read.tensors.get("none"), { shape: [2, 0], data: new Float32Array(0) });
});

test("safetensors - f32 data is copied bit for bit, NaN payloads and -0 included, and never aliases the input", () => {
  const data = [0x7fc01234, 0x80000000, 0xff800000].flatMap((bits) => [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24]);
  const file = buildFile(`{${entry("t", "F32", [3], 0, 12)}}`, data);
  const tensor = readSafetensors(file).tensors.get("t");
  assert.deepEqual(bitsOf(tensor?.data ?? new Float32Array()), [0x7fc01234, 0x80000000, 0xff800000]);
  assert.notEqual(tensor?.data.buffer, file.buffer);
});

test("safetensors - a file shorter than the 8-byte length prefix is refused", () => {
  assertRefused(new Uint8Array(5), { reason: "file-too-short", message: "file is 5 bytes, shorter than the 8-byte header length" });
});

test("safetensors - a header length past the end of the file is refused, even one near 2^64", () => {
  assertRefused(buildFile("{}", [], { declaredHeaderBytes: 100n }), {
    reason: "header-too-large",
    message: "header length 100 is larger than the 2 bytes after the length prefix",
  });
  assertRefused(buildFile("{}", [], { declaredHeaderBytes: 2n ** 64n - 1n }), {
    reason: "header-too-large",
    message: "header length 18446744073709551615 is larger than the 2 bytes after the length prefix (and than the 100000000-byte limit)",
  });
});

test("safetensors - a header that is not UTF-8 JSON, or not an object, is refused", () => {
  assert.throws(() => readSafetensors(buildFile("{nope", [])), {
    reason: "header-not-json",
    message: /^header is not valid UTF-8 JSON: /,
  });
  assert.throws(() => readSafetensors(buildFile(Uint8Array.from([0x7b, 0xff, 0x7d]), [])), {
    reason: "header-not-json",
    message: /^header is not valid UTF-8 JSON: The encoded data was not valid for encoding utf-8/,
  });
  assertRefused(buildFile("[1,2]", []), { reason: "header-not-json", message: "header must be a JSON object, got an array" });
  assertRefused(buildFile("null", []), { reason: "header-not-json", message: "header must be a JSON object, got null" });
});

test("safetensors - a tensor entry missing dtype, shape or data_offsets is refused by name", () => {
  const cases: [string, string][] = [
    ['{"w":{"shape":[1],"data_offsets":[0,4]}}', 'tensor "w" has no dtype'],
    ['{"w":{"dtype":"F32","data_offsets":[0,4]}}', 'tensor "w" has no shape'],
    ['{"w":{"dtype":"F32","shape":[1]}}', 'tensor "w" has no data_offsets'],
    ['{"w":[1]}', 'tensor "w" must be an object, got an array'],
    ['{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}', 'tensor "w" dtype must be a string, got a number'],
    ['{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 'tensor "w" shape must be an array of non-negative integers, got [1.5]'],
    ['{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 'tensor "w" data_offsets must be [begin, end] with 0 <= begin <= end, got [4,0]'],
    ['{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', 'tensor "w" data_offsets must be [begin, end] with 0 <= begin <= end, got [-4,0]'],
    ['{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 'tensor "w" data_offsets must be [begin, end] with 0 <= begin <= end, got [0]'],
  ];
  for (const [header, message] of cases) {
    assertRefused(buildFile(header, f32Bytes(1)), { reason: "invalid-entry", tensor: "w", message });
  }
});

test("safetensors - metadata that is not a string map is refused", () => {
  assertRefused(buildFile('{"__metadata__":{"step":3}}', []), {
    reason: "invalid-entry",
    message: '__metadata__ must map strings to strings; key "step" holds a number',
  });
  assertRefused(buildFile('{"__metadata__":"pt"}', []), { reason: "invalid-entry", message: "__metadata__ must be an object, got a string" });
});

test("safetensors - a dtype other than F32, F16 or BF16 is refused, naming tensor and dtype", () => {
  for (const dtype of ["I64", "F64"]) {
    assertRefused(buildFile(`{${entry("ids", dtype, [1], 0, 8)}}`, new Array<number>(8).fill(0)), {
      reason: "unsupported-dtype",
      tensor: "ids",
      message: `tensor "ids" has dtype ${dtype}; only F32, F16 and BF16 are supported`,
    });
  }
});

test("safetensors - a byte span that does not match shape × dtype size names expected and actual bytes", () => {
  assertRefused(buildFile(`{${entry("w", "F16", [2, 3], 0, 10)}}`, new Array<number>(10).fill(0)), {
    reason: "byte-length-mismatch",
    tensor: "w",
    message: 'tensor "w" of shape [2,3] and dtype F16 needs 12 bytes, but data_offsets [0, 10] span 10',
  });
});

test("safetensors - overlapping tensors are refused, naming both", () => {
  const header = `{${entry("a", "F32", [2], 0, 8)},${entry("b", "F32", [2], 4, 12)}}`;
  assertRefused(buildFile(header, f32Bytes(1, 2, 3)), {
    reason: "overlapping-data",
    tensor: "b",
    message: 'tensor "b" data_offsets [4, 12] overlap tensor "a" [0, 8]',
  });
});

test("safetensors - a hole between tensors, or before the first, is refused", () => {
  assertRefused(buildFile(`{${entry("a", "F32", [2], 0, 8)},${entry("b", "F32", [2], 12, 20)}}`, f32Bytes(1, 2, 0, 3, 4)), {
    reason: "hole-in-data",
    tensor: "b",
    message: 'hole in the data buffer: bytes [8, 12) after tensor "a" belong to no tensor (tensor "b" starts at 12)',
  });
  assertRefused(buildFile(`{${entry("a", "F32", [2], 4, 12)}}`, f32Bytes(0, 1, 2)), {
    reason: "hole-in-data",
    tensor: "a",
    message: 'hole in the data buffer: bytes [0, 4) at the start belong to no tensor (tensor "a" starts at 4)',
  });
});

test("safetensors - bytes after the last tensor are refused", () => {
  assertRefused(buildFile(`{${entry("a", "F32", [2], 0, 8)}}`, f32Bytes(1, 2, 3)), {
    reason: "trailing-bytes",
    message: '4 trailing bytes [8, 12) of the data buffer belong to no tensor after tensor "a"',
  });
  assertRefused(buildFile("{}", [0]), {
    reason: "trailing-bytes",
    message: "1 trailing bytes [0, 1) of the data buffer belong to no tensor (the header lists no tensors)",
  });
});

test("safetensors - a truncated file names the tensor and the bytes missing", () => {
  const header = `{${entry("a", "F32", [2], 0, 8)},${entry("b", "F32", [2], 8, 16)},${entry("c", "F32", [1], 16, 20)}}`;
  const whole = buildFile(header, f32Bytes(1, 2, 3, 4, 5));
  assertRefused(whole.subarray(0, whole.length - 9), {
    reason: "truncated",
    tensor: "b",
    message:
      'file is truncated: tensor "b" needs data bytes [8, 16) but the data buffer holds only 11 bytes; ' +
      "5 of its 8 bytes are missing (the file is 9 bytes short)",
  });
});
