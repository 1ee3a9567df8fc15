/**
 * The remote tier between real workers in one process, on the memory bus's
 * object store (the same code runs on a JetStream object store in test/): a
 * worker that starts after another wrote its hot prefixes serves them as a
 * cache hit on its first request, with the writer's tokens; a corrupt object
 * is refused and counted, and the block is computed instead.
 */
import { MemoryCoordHub, createMemoryCoordBus, type CoordBus } from "@sigmaserve/coord";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES } from "@sigmaserve/kvcache";
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { WorkerConfigError } from "../errors.js";
import { startWorker, type WorkerRuntime } from "../worker-runtime.js";
import { remoteTierBucket } from "./remote-tier.js";

const logger = pino({ level: "silent" });
const hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
const PROMPT = Array.from({ length: 41 }, (_, i) => (i * 23 + 5) % 256); // 10 full blocks of 4
type Client = ServiceClient<typeof workerv1.WorkerService>;
const started: { runtime: WorkerRuntime; client: Client; bus: CoordBus }[] = [];
after(async () => {
  for (const w of started) {
    w.client.close();
    await w.runtime.stop().catch(() => {});
    await w.bus.close();
  }
});

async function start(id: string) {
  const bus = createMemoryCoordBus({ hub });
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--worker-id", id, "--remote-tier", "--remote-tier-publish-ms", "0"], {}), logger, { bus });
  const worker = { runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address), bus };
  started.push(worker);
  return worker;
}

async function generate(client: Client, prompt: number[]) {
  const tokens: number[] = [];
  let cached = -1;
  for await (const m of client.generate({ requestId: `r-${Math.random()}`, model: "sigma-tiny", promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 6, ignoreEos: true } })) {
    if (m.event.case === "chunk") tokens.push(...m.event.value.tokenIds);
    else if (m.event.case === "finish") cached = m.event.value.usage!.cachedPromptTokens;
  }
  return { tokens, cached };
}

test("remote tier - a worker started after the tier was warmed serves the stored prefix as a hit on its first request", async () => {
  const writer = await start("rt-writer");
  const cold = await generate(writer.client, PROMPT);
  // 11 blocks: the prompt's 10 and the one its first generated tokens filled.
  assert.equal(await writer.runtime.remoteTier!.publishHot(), 11);
  assert.equal(await writer.runtime.remoteTier!.publishHot(), 0, "nothing new to write");
  const reader = await start("rt-reader");
  assert.equal(reader.runtime.remoteTier!.stats.blocksWarmed, 11);
  const warm = await generate(reader.client, PROMPT);
  assert.equal(warm.cached, 40);
  assert.deepEqual(warm.tokens, cold.tokens);
});

test("remote tier - a corrupt object is refused and counted; the chain is used up to it and the rest computed", async () => {
  const store = await started[0]!.bus.openObjectStore({ bucket: remoteTierBucket("sigma-tiny", 4), maxBytes: 2 ** 30, ttlMs: 3_600_000 });
  const hashes = started[0]!.runtime.kv.promptBlockHashes(PROMPT);
  const name = `${hashes[6]!.toString(16).padStart(16, "0")}.v`;
  const bytes = (await store.get(name))!;
  bytes[KV_FRAME_HEADER_BYTES + KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES + 9]! ^= 0x08; // a payload byte
  await store.put(name, bytes, { parent: hashes[5]!.toString(16).padStart(16, "0") });
  const reader = await start("rt-reader-2");
  // Blocks 0-5 land; 6 is refused, and 7-10 are skipped: without 6 no prompt can reach them.
  assert.deepEqual([reader.runtime.remoteTier!.stats.blocksWarmed, reader.runtime.remoteTier!.stats.blocksRefused], [6, 1]);
  const warm = await generate(reader.client, PROMPT);
  assert.equal(warm.cached, 24, "blocks 0-5");
  assert.deepEqual(reader.runtime.kv.usage().map((u) => u.usedBlocks), [0, 0]);
});

test("remote tier - needs a bus", async () => {
  await assert.rejects(startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--remote-tier"], {}), logger), (err) => err instanceof WorkerConfigError && /--remote-tier: needs --nats/.test(err.message));
});
