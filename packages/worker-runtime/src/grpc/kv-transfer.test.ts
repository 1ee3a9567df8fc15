/**
 * ExportKv / ImportKv between two real workers over gRPC on loopback: the
 * blocks one worker computed become a prefix hit on the other, a corrupt
 * block is refused by hash and never used, and hashes not held come back as
 * missing. The oracle for the imported K and V is the source worker's own
 * greedy tokens for the same prompt, computed without any import.
 */
import { status } from "@grpc/grpc-js";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES, KV_HASH_ALGORITHM, readKvFrameHeader } from "@sigmaserve/kvcache";
import { GrpcStatusError, createGrpcClient, kvv1, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { generateOn } from "../testing/bus-workers.js";
import { startWorker, type WorkerRuntime } from "../worker-runtime.js";

const logger = pino({ level: "silent" });
type Client = ServiceClient<typeof workerv1.WorkerService>;

/** A source and a target worker, stopped after `run`. */
async function withTwoWorkers(run: (source: { runtime: WorkerRuntime; client: Client }, target: { runtime: WorkerRuntime; client: Client }) => Promise<void>): Promise<void> {
  const source = await start();
  const target = await start();
  try {
    await run(source, target);
  } finally {
    for (const w of [source, target]) {
      w.client.close();
      await w.runtime.stop();
    }
  }
}

async function start(flags: string[] = []): Promise<{ runtime: WorkerRuntime; client: Client }> {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", ...flags], {}), logger);
  return { runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address) };
}

const generate = generateOn;

/** Flips one payload byte of block `index` in a frame's payload. */
function corrupt(payload: Uint8Array, index: number): void {
  const header = readKvFrameHeader(payload);
  const payloadStart = KV_FRAME_HEADER_BYTES + header.blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
  payload[payloadStart + index * header.payloadBytesPerBlock + 3]! ^= 0x10;
}

const importStream = (frames: readonly kvv1.KvTransferFrame[], header: Partial<workerv1.ImportKvHeader> = {}): workerv1.ImportKvRequest[] =>
  [{ event: { case: "header", value: { model: "sigma-tiny", ...header } } }, ...frames.map((frame) => ({ event: { case: "frame", value: frame } }))] as workerv1.ImportKvRequest[];

test("worker - blocks exported from one worker and imported into another are a prefix hit there, with the same tokens", () =>
  withTwoWorkers(async (source, target) => {
    const prompt = Array.from({ length: 37 }, (_, i) => (i * 41 + 3) % 256); // 9 full blocks of 4, and one token more
    const computed = await generate(source.client, "cold", prompt);
    assert.equal(computed.cachedPromptTokens, 0);
    const hashes = source.runtime.kv.promptBlockHashes(prompt);
    assert.equal(hashes.length, 9);

    const messages: workerv1.ExportKvResponse[] = [];
    for await (const m of source.client.exportKv({ blockHashes: [...hashes, 0xdeadn] })) messages.push(m);
    const frames = messages.flatMap((m) => (m.event.case === "frame" ? [m.event.value] : []));
    const summary = messages.at(-1)!.event;
    assert.deepEqual(frames.map((f) => f.component), [kvv1.KvComponent.K, kvv1.KvComponent.V]);
    for (const frame of frames) assert.deepEqual(frame.blocks.map((b) => b.blockHash), hashes);
    const payloadBytes = BigInt(frames.reduce((sum, f) => sum + f.payload.byteLength, 0));
    assert.equal(summary.case, "summary");
    assert.deepEqual(summary.value!.missingBlockHashes, [0xdeadn]);
    assert.equal(summary.value!.bytesSent, payloadBytes);

    // A V byte of block 4 flipped on the way: that block is refused by hash, the other 8 are stored.
    const damaged = frames.map((f) => ({ ...f, payload: Uint8Array.from(f.payload) }));
    corrupt(damaged[1]!.payload, 4);
    const first = await target.client.importKv(importStream(damaged));
    assert.equal(first.blocksImported, 8);
    assert.deepEqual(first.refusedBlockHashes, [hashes[4]]);
    assert.equal(first.bytesReceived, payloadBytes);
    // With the chain broken at block 4, only the first 4 blocks are a hit.
    assert.deepEqual(target.runtime.kv.findCachedPrefix(prompt).hashes, hashes.slice(0, 4));

    // The sound frames again: the 8 held blocks are skipped, block 4 is stored.
    const second = await target.client.importKv(importStream(frames));
    assert.equal(second.blocksImported, 1);
    assert.deepEqual(second.refusedBlockHashes, []);

    const warm = await generate(target.client, "warm", prompt);
    assert.equal(warm.cachedPromptTokens, 36);
    assert.deepEqual(warm.tokens, computed.tokens);
    assert.deepEqual(target.runtime.kv.checkInvariants(), []);
  }));

test("worker - ImportKv checks its header and frees blocks that arrive in one half only", () =>
  withTwoWorkers(async (source, target) => {
    const prompt = Array.from({ length: 17 }, (_, i) => (i * 7 + 1) % 256); // 4 full blocks of 4
    await generate(source.client, "cold", prompt);
    const hashes = source.runtime.kv.promptBlockHashes(prompt);
    const frames: kvv1.KvTransferFrame[] = [];
    for await (const m of source.client.exportKv({ blockHashes: hashes })) if (m.event.case === "frame") frames.push(m.event.value);
    const invalid = (field: string, rule: RegExp) => (err: unknown) => err instanceof GrpcStatusError && err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}: `) && rule.test(err.details);
    const withHeader = (header: Partial<workerv1.ImportKvHeader>, rest = frames) => importStream(rest, header);
    await assert.rejects(target.client.importKv(withHeader({ model: "other" })), invalid("header.model", /this worker serves "sigma-tiny"/));
    await assert.rejects(
      target.client.importKv(withHeader({ kvHash: { algorithm: KV_HASH_ALGORITHM, seed: 0n, blockSizeTokens: 16 } as kvv1.KvHashSpec })),
      invalid("header.kv_hash.block_size_tokens", /is 16; this worker's blocks hold 4 tokens/),
    );
    await assert.rejects(target.client.importKv(importStream(frames).slice(1)), invalid("header", /must be the first message/));
    const truncated = { ...frames[0]!, payload: frames[0]!.payload.subarray(0, 40) };
    await assert.rejects(target.client.importKv(withHeader({}, [truncated])), invalid("frame.payload", /truncated/));
    // K only: nothing can be registered, and nothing stays allocated.
    const kOnly = await target.client.importKv(withHeader({}, frames.slice(0, 1)));
    assert.deepEqual([kOnly.blocksImported, kOnly.refusedBlockHashes], [0, hashes]);
    assert.deepEqual(target.runtime.kv.usage().map((u) => u.usedBlocks + u.cachedFreeBlocks), [0, 0]);
    assert.deepEqual(target.runtime.kv.checkInvariants(), []);
  }));

test("worker - between workers of different KV dtypes frames carry the source's stored dtype, the target converts and counts, and the registry entry names each pool's dtype", async () => {
  const source = await start(); // bf16, the default
  const target = await start(["--kv-dtype", "f32", "--kv-v-dtype", "f16"]);
  try {
    assert.deepEqual([source.runtime.kv.dtype, target.runtime.kv.dtype], [{ k: "bf16", v: "bf16" }, { k: "f32", v: "f16" }]);
    const info = target.runtime.workerInfo();
    assert.equal(info.kvDtype, kvv1.KvDtype.F32, "kv_dtype is K's");
    assert.deepEqual(
      info.kvCapacity.map((pool) => [pool.component, pool.dtype, pool.blockBytes]),
      [
        [kvv1.KvComponent.K, kvv1.KvDtype.F32, BigInt(target.runtime.kv.blockBytes.k)],
        [kvv1.KvComponent.V, kvv1.KvDtype.F16, BigInt(target.runtime.kv.blockBytes.v)],
      ],
    );
    const prompt = Array.from({ length: 21 }, (_, i) => (i * 13 + 5) % 256); // 5 full blocks of 4
    await generate(source.client, "cold", prompt);
    const hashes = source.runtime.kv.promptBlockHashes(prompt);
    const frames: kvv1.KvTransferFrame[] = [];
    for await (const m of source.client.exportKv({ blockHashes: hashes })) if (m.event.case === "frame") frames.push(m.event.value);
    // Unset wire_dtype: each component as stored, bf16, in the message and in the frame itself.
    assert.deepEqual(frames.map((f) => [f.dtype, readKvFrameHeader(f.payload).wireDtype]), [[kvv1.KvDtype.BF16, "bf16"], [kvv1.KvDtype.BF16, "bf16"]]);
    assert.equal(readKvFrameHeader(frames[0]!.payload).payloadBytesPerBlock, source.runtime.kv.blockBytes.k);
    const imported = await target.client.importKv(importStream(frames));
    assert.deepEqual([imported.blocksImported, imported.refusedBlockHashes], [5, []]);
    assert.deepEqual(target.runtime.kv.importDtypeConversions, { k: 5, v: 5 });
    const warm = await generate(target.client, "warm", prompt);
    assert.equal(warm.cachedPromptTokens, 20, "the converted blocks are a prefix hit");
    // An asked-for wire dtype is honoured: F32 frames from the bf16 source (exact widening).
    const asF32: kvv1.KvTransferFrame[] = [];
    for await (const m of source.client.exportKv({ blockHashes: hashes.slice(0, 1), wireDtype: kvv1.KvDtype.F32 })) if (m.event.case === "frame") asF32.push(m.event.value);
    assert.deepEqual(asF32.map((f) => [f.dtype, readKvFrameHeader(f.payload).wireDtype]), [[kvv1.KvDtype.F32, "f32"], [kvv1.KvDtype.F32, "f32"]]);
    assert.deepEqual(target.runtime.kv.checkInvariants(), []);
  } finally {
    for (const w of [source, target]) {
      w.client.close();
      await w.runtime.stop();
    }
  }
});
