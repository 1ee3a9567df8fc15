/**
 * The remote tier between real workers in one process, on the memory bus's
 * object store (the same code runs on a JetStream object store in test/): a
 * worker that starts after another wrote its hot prefixes serves them as a
 * cache hit on its first request, with the writer's tokens; a corrupt object
 * is refused and counted, and the block is computed instead.
 */
import { createMemoryCoordBus } from "@sigmaserve/coord";
import { prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES } from "@sigmaserve/kvcache";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { WorkerConfigError } from "../errors.js";
import { BusWorkers, generateOn, type BusWorker } from "../testing/bus-workers.js";
import { startWorker } from "../worker-runtime.js";
import { remoteTierBucket } from "./remote-tier.js";

const PROMPT = Array.from({ length: 41 }, (_, i) => (i * 23 + 5) % 256); // 10 full blocks of 4
const workers = new BusWorkers();
after(() => workers.stopAll());
const start = (id: string) => workers.start(id, ["--block-size", "4", "--remote-tier", "--remote-tier-publish-ms", "0"]);
const generate = (worker: BusWorker) => generateOn(worker.client, `r-${worker.id}`, PROMPT, { temperature: 0, maxTokens: 6, ignoreEos: true });

test("remote tier - a worker started after the tier was warmed serves the stored prefix as a hit on its first request", async () => {
  const writer = await start("rt-writer");
  const cold = await generate(writer);
  // 11 blocks: the prompt's 10 and the one its first generated tokens filled.
  assert.equal(await writer.runtime.remoteTier!.publishHot(), 11);
  assert.equal(await writer.runtime.remoteTier!.publishHot(), 0, "nothing new to write");
  const reader = await start("rt-reader");
  assert.equal(reader.runtime.remoteTier!.stats.blocksWarmed, 11);
  const warm = await generate(reader);
  assert.equal(warm.cachedPromptTokens, 40);
  assert.deepEqual(warm.tokens, cold.tokens);
});

test("remote tier - a corrupt object is refused and counted; the chain is used up to it and the rest computed", async () => {
  const probe = createMemoryCoordBus({ hub: workers.hub });
  const store = await probe.openObjectStore({ bucket: remoteTierBucket("sigma-tiny", 4), maxBytes: 2 ** 30, ttlMs: 3_600_000 });
  const hashes = prefixBlockHashes(PROMPT, { blockSizeTokens: 4, modelId: "sigma-tiny" });
  const name = `${hashes[6]!.toString(16).padStart(16, "0")}.v`;
  const bytes = (await store.get(name))!;
  bytes[KV_FRAME_HEADER_BYTES + KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES + 9]! ^= 0x08; // a payload byte
  await store.put(name, bytes, { parent: hashes[5]!.toString(16).padStart(16, "0") });
  const reader = await start("rt-reader-2");
  // Blocks 0-5 land; 6 is refused, and 7-10 are skipped: without 6 no prompt can reach them.
  assert.deepEqual([reader.runtime.remoteTier!.stats.blocksWarmed, reader.runtime.remoteTier!.stats.blocksRefused], [6, 1]);
  const warm = await generate(reader);
  assert.equal(warm.cachedPromptTokens, 24, "blocks 0-5");
  assert.deepEqual(reader.runtime.kv.usage().map((u) => u.usedBlocks), [0, 0]);
  await probe.close();
});

test("remote tier - a running worker that lacks a prefix fetches it from the store when a request needs it", async () => {
  const early = await start("rt-early"); // started (and warmed) before the prefix below is written
  const writer = await start("rt-writer-2");
  const other = Array.from({ length: 33 }, (_, i) => (i * 7 + 100) % 256); // 8 full blocks
  const cold = await generateOn(writer.client, "w2", other);
  await writer.runtime.remoteTier!.publishHot();
  const hit = await generateOn(early.client, "e2", other);
  assert.equal(hit.cachedPromptTokens, 32);
  assert.deepEqual(hit.tokens, cold.tokens);
  assert.ok(early.runtime.remoteTier!.stats.blocksFetched >= 8);
  // A short miss (below --remote-tier-fetch-min-blocks) does not ask the store.
  const fetched = early.runtime.remoteTier!.stats.blocksFetched;
  await generateOn(early.client, "e3", [9, 9, 9, 9, 9, 9, 9, 9, 9]);
  assert.equal(early.runtime.remoteTier!.stats.blocksFetched, fetched);
});

test("remote tier - needs a bus", async () => {
  await assert.rejects(startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--remote-tier"], {}), pino({ level: "silent" })), (err) => err instanceof WorkerConfigError && /--remote-tier: needs --nats/.test(err.message));
});
