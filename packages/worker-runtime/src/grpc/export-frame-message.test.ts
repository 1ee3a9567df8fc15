import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { encodeKvFrame, kvFrameByteLength } from "@sigmaserve/kvcache";
import { kvv1, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { exportFrameMessages } from "./export-frame-message.js";

const shape = { layers: 2, heads: 3, blockSizeTokens: 4, headDim: 8 };
const hashes = [0x0123_4567_89ab_cdefn, 0xffff_ffff_ffff_fff0n, 7n];
const parents = new Map<bigint, bigint | null>([
  [hashes[0]!, null],
  [hashes[1]!, hashes[0]!],
  [hashes[2]!, hashes[1]!],
]);

test("export frame message - the frame written in place decodes as ExportKvResponse, byte for byte what protobuf-es writes", () => {
  const DTYPE = { f32: kvv1.KvDtype.F32, f16: kvv1.KvDtype.F16, bf16: kvv1.KvDtype.BF16 } as const;
  for (const [component, wireDtype, count] of [["k", "f32", 3], ["v", "f16", 1], ["v", "f32", 0], ["k", "bf16", 2]] as const) {
    const blocks = hashes.slice(0, count).map((hash, b) => ({ hash, data: Float32Array.from({ length: 192 }, (_, i) => Math.sin(b * 100 + i)) }));
    const messages = exportFrameMessages({ k: wireDtype, v: wireDtype }, parents);
    const payloadBytes = 192 * (wireDtype === "f32" ? 4 : 2);
    const into = messages.allocate(kvFrameByteLength(count, payloadBytes), { component, hashes: blocks.map((b) => b.hash) });
    encodeKvFrame({ component, wireDtype, shape, blocks }, { into });
    const built = messages.take().bytes;
    const expected = toBinary(
      workerv1.ExportKvResponseSchema,
      create(workerv1.ExportKvResponseSchema, {
        event: {
          case: "frame",
          value: {
            component: component === "k" ? kvv1.KvComponent.K : kvv1.KvComponent.V,
            dtype: DTYPE[wireDtype],
            blocks: blocks.map((b) => (parents.get(b.hash) === null ? { blockHash: b.hash } : { blockHash: b.hash, parentBlockHash: parents.get(b.hash)! })),
            payload: encodeKvFrame({ component, wireDtype, shape, blocks }),
          },
        },
      }),
    );
    assert.deepEqual(new Uint8Array(built), expected, `${component} ${wireDtype} ${count} blocks`);
    const decoded = fromBinary(workerv1.ExportKvResponseSchema, built);
    assert.equal(decoded.event.case, "frame");
  }
  assert.throws(() => exportFrameMessages({ k: "f32", v: "f32" }, parents).take(), /no frame message/);
});

test("export frame message - a buffer is reused only after grpc-js has taken its message, never while it waits to be sent", async () => {
  const messages = exportFrameMessages({ k: "f32", v: "f32" }, parents);
  const frame = { component: "k" as const, hashes: hashes.slice(0, 1) };
  const frameBytes = kvFrameByteLength(1, 192 * 4);
  const first = messages.allocate(frameBytes, frame);
  const a = messages.take();
  const second = messages.allocate(frameBytes, frame);
  const b = messages.take();
  assert.notEqual(first.buffer, second.buffer, "a message not yet serialised keeps its memory");
  // The serialiser takes the bytes (and copies them, as grpc-js does); the buffer is free from the next microtask.
  a.take();
  assert.notEqual(messages.allocate(frameBytes, frame).buffer, first.buffer, "not before the serialiser's copy has returned");
  messages.take().take();
  await Promise.resolve();
  const third = messages.allocate(frameBytes - 4, frame);
  assert.equal(third.buffer, first.buffer, "the freed buffer serves a later frame that fits in it");
  assert.equal(messages.take().bytes.length, a.bytes.length - 4, "the message is the frame's length, not the buffer's");
  assert.notEqual(b.bytes.buffer, third.buffer);
});
