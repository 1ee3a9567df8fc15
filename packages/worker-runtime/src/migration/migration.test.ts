/**
 * KV migration between two real workers in one process: real gRPC on
 * loopback for the bytes, the in-memory CoordBus for offer / reply / done
 * (the same handshake runs over a real nats-server in test/). The oracle for
 * migrated K and V is the source's own greedy tokens for the same prompt:
 * a target that serves the prompt from migrated blocks must produce them.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ControlHandlerError } from "@sigmaserve/coord";
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES, KV_HASH_ALGORITHM, readKvFrameHeader } from "@sigmaserve/kvcache";
import { GrpcStatusError, coordv1, kvv1 } from "@sigmaserve/proto";
import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { BusWorkers, generateOn, type BusWorker } from "../testing/bus-workers.js";
import type { StartWorkerOptions } from "../worker-runtime.js";

const BLOCK = 4;
const PROMPT = Array.from({ length: 37 }, (_, i) => (i * 41 + 3) % 256); // 9 full blocks of 4, and one token more
const workers = new BusWorkers();
after(() => workers.stopAll());
const start = (id: string, flags: string[] = [], options: StartWorkerOptions = {}) => workers.start(id, ["--block-size", String(BLOCK), ...flags], options);
const generate = generateOn;
type Worker = BusWorker;

const pinned = (w: Worker) => w.runtime.kv.usage().map((u) => u.usedBlocks);

test("migration - offer, reply, pull, done: the target serves the prompt from the migrated blocks with the source's tokens", async () => {
  const source = await start("src-a");
  const target = await start("dst-a");
  const cold = await generate(source.client, "cold", PROMPT);
  const chain = source.runtime.kv.promptBlockHashes(PROMPT);
  const outcome = await source.runtime.migration!.source.offer("dst-a", chain);
  assert.equal(outcome.kind, "done");
  assert.ok(outcome.kind === "done");
  assert.deepEqual([outcome.offeredBlocks, outcome.wantedBlocks, outcome.done.blocksImported, outcome.done.blocksRefused, outcome.done.error], [9, 9, 9, 0, ""]);
  assert.ok(outcome.done.bytesReceived > 0n);
  assert.equal(source.runtime.migration!.leases.size, 0, "the lease ended at done");
  assert.deepEqual(pinned(source), [0, 0], "nothing stays pinned on the source");
  const warm = await generate(target.client, "warm", PROMPT);
  assert.equal(warm.cachedPromptTokens, 9 * BLOCK, "every full block came from the migration");
  assert.deepEqual(warm.tokens, cold.tokens);
  assert.deepEqual(target.runtime.migration!.target.stats, { offersAccepted: 1, offersRefused: 0, pullsCompleted: 1, pullsFailed: 0, blocksImported: 9, blocksRefused: 0, bytesReceived: Number(outcome.done.bytesReceived) });
  // Both speeds a router weighs are measured and reported: the target's pull, the source's 37-token prefill.
  assert.ok(target.runtime.workerLoad().migrationBytesPerS > 0);
  assert.ok(source.runtime.workerLoad().prefillTokensPerS > 0);
  assert.equal(target.runtime.workerLoad().prefillTokensPerS, 0, "the target computed no prompt chunk of 32 tokens or more");
  // The metrics count the same bytes on both sides, per component: K is n_k/(n_k + n_v) of them (frame heads aside).
  const transferred = async (w: Worker, direction: string) => {
    const metric = (await w.runtime.metrics.registry.getSingleMetric("sigmaserve_kv_transfer_bytes_total")!.get()).values;
    return Object.fromEntries(metric.filter((v) => v.labels["direction"] === direction).map((v) => [v.labels["component"], v.value]));
  };
  const { num_key_heads: nK, num_value_heads: nV } = source.runtime.model.config;
  const received = await transferred(target, "in");
  assert.equal(received["k"]! + received["v"]!, Number(outcome.done.bytesReceived));
  // NOTE: 2%, not less: each frame's head (36 bytes, and 12 per block) is about 1% of sigma-tiny's small bf16 K blocks.
  assert.ok(Math.abs((received["k"]! * nV) / (received["v"]! * nK) - 1) < 0.02, `K ${received["k"]} and V ${received["v"]} bytes for n_k ${nK}, n_v ${nV}`);
  assert.deepEqual(await transferred(source, "out"), received);
  const pulls = (await target.runtime.metrics.registry.getSingleMetric("sigmaserve_migration_pulls_total")!.get()).values;
  assert.deepEqual(pulls.map((v) => [v.labels["outcome"], v.value]), [["completed", 1]]);
});

test("migration - a prefix the target already holds is skipped: it pulls only the blocks it lacks", async () => {
  const source = await start("src-b");
  const target = await start("dst-b");
  await generate(source.client, "cold", PROMPT);
  await generate(target.client, "half", PROMPT.slice(0, 5 * BLOCK + 1)); // the target computes the first 5 blocks itself
  const outcome = await source.runtime.migration!.source.offer("dst-b", source.runtime.kv.promptBlockHashes(PROMPT));
  assert.ok(outcome.kind === "done");
  assert.deepEqual([outcome.offeredBlocks, outcome.wantedBlocks, outcome.done.blocksImported], [9, 4, 4]);
  assert.equal((await generate(target.client, "warm", PROMPT)).cachedPromptTokens, 9 * BLOCK);
});

test("migration - a frame corrupted in flight is refused and counted; the target recomputes from the longest valid prefix", async () => {
  let flipped = false;
  const source = await start("src-c");
  const target = await start("dst-c", [], {
    onMigrationFrame: (payload) => {
      const header = readKvFrameHeader(payload);
      if (flipped || header.component !== "v") return;
      flipped = true;
      const payloadStart = KV_FRAME_HEADER_BYTES + header.blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
      payload[payloadStart + 6 * header.payloadBytesPerBlock + 17]! ^= 0x20; // a byte of block 6's V
    },
  });
  const cold = await generate(source.client, "cold", PROMPT);
  const outcome = await source.runtime.migration!.source.offer("dst-c", source.runtime.kv.promptBlockHashes(PROMPT));
  assert.ok(outcome.kind === "done");
  assert.deepEqual([outcome.done.blocksImported, outcome.done.blocksRefused], [8, 1]);
  assert.equal(target.runtime.migration!.target.stats.blocksRefused, 1);
  assert.deepEqual(pinned(target), [0, 0], "the refused block holds no slot");
  const warm = await generate(target.client, "warm", PROMPT);
  assert.equal(warm.cachedPromptTokens, 6 * BLOCK, "blocks 0-5 hit; 6 was refused, so 6-8 are recomputed");
  assert.deepEqual(warm.tokens, cold.tokens);
});

test("migration - the source killed mid-pull: the target frees everything incomplete, and the source's lease is gone with it", async () => {
  let killing: Promise<void> | undefined;
  // Killed after K went out and before the first V frame does.
  const source: Worker = await start("src-d", [], { onExportFrame: (frame) => void (frame.component === "v" && (killing ??= source.runtime.kill())) });
  const target = await start("dst-d");
  await generate(source.client, "cold", PROMPT);
  const before = pinned(target);
  const outcome = await source.runtime.migration!.source.offer("dst-d", source.runtime.kv.promptBlockHashes(PROMPT));
  await killing;
  await target.runtime.migration!.target.idle();
  assert.equal(outcome.kind, "failed", JSON.stringify(outcome));
  assert.equal(target.runtime.migration!.target.stats.pullsFailed, 1);
  assert.deepEqual(pinned(target), before, "pool usage back to where it was");
  assert.equal(target.runtime.kv.holds(source.runtime.kv.promptBlockHashes(PROMPT)[0]!), false, "no K-only block was registered");
  assert.deepEqual(target.runtime.kv.checkInvariants(), []);
  assert.equal((await generate(target.client, "after", PROMPT)).cachedPromptTokens, 0);
});

test("migration - bad offers are refused with a reason and leak nothing", async () => {
  const source = await start("src-e");
  const target = await start("dst-e", ["--kv-device-mib", "0.05"]);
  await generate(source.client, "cold", PROMPT);
  const chain = source.runtime.kv.promptBlockHashes(PROMPT);
  const offer = (changes: object) =>
    source.bus.offerMigration(
      "dst-e",
      create(coordv1.MigrationOfferSchema, {
        migrationId: "m-bad",
        sourceWorkerId: "src-e",
        sourceEpoch: source.runtime.eventLog.epoch,
        sourceGrpcAddress: source.runtime.address,
        blocks: chain.map((blockHash) => ({ blockHash })),
        components: [kvv1.KvComponent.K, kvv1.KvComponent.V],
        model: "sigma-tiny",
        kvHash: { algorithm: KV_HASH_ALGORITHM, seed: 0n, blockSizeTokens: BLOCK },
        leaseMs: 1_000,
        ...changes,
      } as MessageInitShape<typeof coordv1.MigrationOfferSchema>),
    );
  const refusals = [
    [{ model: "sigma-1.5b" }, 'model mismatch: the offer is for "sigma-1.5b", this worker serves "sigma-tiny"'],
    [{ kvHash: { algorithm: KV_HASH_ALGORITHM, seed: 0n, blockSizeTokens: 16 } }, "block size mismatch: the offer's blocks hold 16 tokens, this worker's 4"],
    [{ kvHash: undefined }, "kv_hash is missing: the blocks' hash spec must match this worker's"],
    [{ components: [kvv1.KvComponent.V] }, "components must be K and V: this worker imports both halves of every block"],
    [{ blocks: [] }, "the offer names no blocks"],
    [{ sourceGrpcAddress: "" }, "source_grpc_address is empty: nowhere to pull from"],
  ] as const;
  for (const [changes, reason] of refusals) {
    const reply = await offer(changes);
    assert.deepEqual([reply.accepted, reply.reason, reply.wantedBlockHashes], [false, reason, []]);
  }
  // The target's device pool holds fewer blocks than the chain.
  const tooBig = await offer({ blocks: Array.from({ length: 400 }, (_, i) => ({ blockHash: BigInt(i + 1) })) });
  assert.match(tooBig.reason, /^no room: the offer needs 400 blocks, at most \d+ can be made free here$/);
  // Through the source's own offer: the refusal comes back and the lease is released.
  const refused = await source.runtime.migration!.source.offer("nobody-here", chain);
  assert.equal(refused.kind, "failed");
  assert.equal(source.runtime.migration!.leases.size, 0);
  assert.deepEqual([pinned(source), pinned(target)], [[0, 0], [0, 0]]);
});

test("migration - ExportKv for a migration: unknown id, block not offered, expired lease and a stale epoch are refused by name", async () => {
  const source = await start("src-f", ["--migration-lease-ms", "150"]);
  await generate(source.client, "cold", PROMPT);
  const chain = source.runtime.kv.promptBlockHashes(PROMPT);
  const exportKv = async (request: { migrationId?: string; blockHashes?: bigint[]; expectedEpoch?: bigint }) => {
    for await (const _ of source.client.exportKv({ blockHashes: chain.slice(0, 2), ...request }));
  };
  const refusedWith = (code: status, message: RegExp) => (err: unknown) => err instanceof GrpcStatusError && err.code === code && message.test(err.message);
  await assert.rejects(exportKv({ migrationId: "no-such" }), refusedWith(status.NOT_FOUND, /migration_id: "no-such" names no offer of this worker/));
  await assert.rejects(exportKv({ expectedEpoch: source.runtime.eventLog.epoch + 1n }), refusedWith(status.FAILED_PRECONDITION, /it restarted, and the blocks it offered are gone/));
  // A standing offer, made by hand through the lease table (the target side is not needed here).
  const lease = source.runtime.kv.leaseBlocks(chain.slice(0, 3), { chain: true });
  source.runtime.migration!.leases.open("m-f", "dst-f", lease, () => {});
  await exportKv({ migrationId: "m-f" }); // blocks 0 and 1: offered
  await assert.rejects(exportKv({ migrationId: "m-f", blockHashes: [chain[5]!] }), refusedWith(status.FAILED_PRECONDITION, /migration_id: "m-f" did not offer block 0x[0-9a-f]{16}/));
  assert.deepEqual(pinned(source), [3, 3], "the lease pins its 3 blocks");
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(pinned(source), [0, 0], "the lease ran out and released them");
  await assert.rejects(exportKv({ migrationId: "m-f" }), refusedWith(status.FAILED_PRECONDITION, /migration_id: "m-f" has no standing offer any more/));
  // migrate.done for a migration the source never offered is an error the target sees.
  await assert.rejects(
    source.bus.reportMigrationDone("src-f", create(coordv1.MigrationDoneSchema, { migrationId: "never" })),
    (err) => err instanceof ControlHandlerError && /migration_id: "never" names no offer/.test(err.message),
  );
});

test("migration - migrate.request over the bus: the source moves a chain to the named target and answers with the target's report", async () => {
  const source = await start("src-g");
  const target = await start("dst-g");
  const cold = await generate(source.client, "cold", PROMPT);
  const chain = source.runtime.kv.promptBlockHashes(PROMPT);
  const result = await target.bus.requestMigration("src-g", create(coordv1.MigrationRequestSchema, { targetWorkerId: "dst-g", blockHashes: chain, requesterId: "test" }), { timeoutMs: 30_000 });
  assert.equal(result.outcome, coordv1.MigrationOutcome.DONE);
  assert.deepEqual([result.offeredBlocks, result.wantedBlocks, result.done?.blocksImported], [9, 9, 9]);
  assert.ok(result.done!.kCompleteMs > 0 && result.done!.kCompleteMs <= result.done!.durationMs, `K complete at ${result.done!.kCompleteMs} of ${result.done!.durationMs} ms`);
  assert.deepEqual((await generate(target.client, "warm", PROMPT)).tokens, cold.tokens);
  const again = await target.bus.requestMigration("src-g", create(coordv1.MigrationRequestSchema, { targetWorkerId: "dst-g", blockHashes: chain }));
  assert.deepEqual([again.outcome, again.wantedBlocks], [coordv1.MigrationOutcome.DONE, 0], "nothing left to move");
  const none = await target.bus.requestMigration("src-g", create(coordv1.MigrationRequestSchema, { targetWorkerId: "dst-g", blockHashes: [0xdeadn] }));
  assert.equal(none.outcome, coordv1.MigrationOutcome.NOTHING_TO_OFFER);
  await assert.rejects(
    target.bus.requestMigration("src-g", create(coordv1.MigrationRequestSchema, { targetWorkerId: "", blockHashes: chain })),
    (err) => err instanceof ControlHandlerError && /target_worker_id: must name the worker/.test(err.message),
  );
});

test("migration - traced: the offer's span context rides the NATS headers, so the target's pull joins the requester's trace", async () => {
  // A real OpenTelemetry SDK in this process, spans kept in memory (the cross-process OTLP path is tested in test/).
  const { context, propagation, trace } = await import("@opentelemetry/api");
  const { W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  try {
    const source = await start("src-t");
    const target = await start("dst-t");
    await generate(source.client, "cold", PROMPT);
    // The requester (a router's cache pull, say) sends its trace context with migrate.request.
    const root = provider.getTracer("test").startSpan("routed request");
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), root), headers);
    const result = await source.runtime.migration!.source.onRequest(create(coordv1.MigrationRequestSchema, { targetWorkerId: "dst-t", blockHashes: source.runtime.kv.promptBlockHashes(PROMPT), requesterId: "test" }), headers);
    assert.equal(result.outcome, coordv1.MigrationOutcome.DONE);
    root.end();
    await target.runtime.migration!.target.idle();
    const spans = exporter.getFinishedSpans();
    const offer = spans.find((s) => s.name === "migration.offer")!;
    const pull = spans.find((s) => s.name === "migration.pull")!;
    assert.ok(offer && pull, `spans: ${spans.map((s) => s.name).join(", ")}`);
    assert.equal(offer.spanContext().traceId, root.spanContext().traceId, "the offer is in the requester's trace");
    assert.equal(offer.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(pull.spanContext().traceId, root.spanContext().traceId, "the pull, on the other worker, too");
    assert.equal(pull.parentSpanContext?.spanId, offer.spanContext().spanId, "under the offer, through the NATS headers");
    assert.equal(Number(pull.attributes["sigmaserve.migration.bytes_k"]) + Number(pull.attributes["sigmaserve.migration.bytes_v"]), Number(result.done!.bytesReceived));
    assert.equal(pull.attributes["sigmaserve.migration.blocks_imported"], 9);
  } finally {
    trace.disable();
    propagation.disable();
    await provider.shutdown();
  }
});
