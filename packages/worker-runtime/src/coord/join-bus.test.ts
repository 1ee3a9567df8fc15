/**
 * The worker on the in-memory CoordBus (the same scenarios run against a real
 * nats-server in the cross-process tests): it registers, heartbeats, publishes
 * its KV events in seq order, and serves snapshots that agree with the events.
 */
import { MemoryCoordHub, createMemoryCoordBus, type WorkerEvent } from "@sigmaserve/coord";
import { create } from "@bufbuild/protobuf";
import { coordv1, createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";

test("worker on the bus - registers, publishes KV events in seq order, and serves a matching snapshot", async () => {
  const hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
  const routerBus = createMemoryCoordBus({ hub });
  const workerBus = createMemoryCoordBus({ hub });
  const events: WorkerEvent[] = [];
  const watch = await routerBus.watchWorkers((e) => events.push(e));
  const batches: coordv1.KvEventBatch[] = [];
  const sub = await routerBus.subscribeKvEvents((b) => batches.push(b));
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--worker-id", "w1"], {}), pino({ level: "silent" }), { bus: workerBus });
  const client = createGrpcClient(workerv1.WorkerService, runtime.address);
  try {
    assert.deepEqual(events.map((e) => [e.kind, e.workerId]), [["joined", "w1"]]);
    for await (const _ of client.generate({ requestId: "r1", model: "sigma-tiny", promptTokenIds: Array.from({ length: 20 }, (_, i) => i + 1), sampling: { temperature: 0, maxTokens: 4 } }));
    for (let i = 0; i < 100 && batches.reduce((n, b) => n + b.events.length, 0) < 10; i++) await new Promise((r) => setTimeout(r, 10));
    // Seqs start at 1 and have no holes across batches.
    let expected = 1n;
    for (const batch of batches) {
      assert.equal(batch.firstSeq, expected);
      assert.equal(batch.epoch, runtime.eventLog.epoch);
      expected += BigInt(batch.events.length);
    }
    // 20 prompt tokens + 3 fed-back generated tokens (the 4th is sampled, never computed) = 5 full blocks of 4, K and V each.
    const stored = batches.flatMap((b) => b.events).filter((e) => e.kind.case === "stored");
    assert.equal(stored.length, 10);
    const snapshot = await routerBus.requestSnapshot("w1", create(coordv1.KvSnapshotRequestSchema, { requesterId: "test", pageToken: "", maxHashes: 4 }));
    assert.equal(snapshot.asOfSeq, expected - 1n);
    const pages = [snapshot];
    while (pages.at(-1)!.nextPageToken !== "") pages.push(await routerBus.requestSnapshot("w1", create(coordv1.KvSnapshotRequestSchema, { requesterId: "test", pageToken: pages.at(-1)!.nextPageToken, maxHashes: 4 })));
    const hashes = pages.flatMap((p) => p.residency.filter((g) => g.component === 1).flatMap((g) => g.blockHashes));
    const storedK = stored.flatMap((e) => (e.kind.case === "stored" && e.kind.value.component === 1 ? e.kind.value.blockHashes : []));
    assert.deepEqual([...hashes].sort(), [...storedK].sort());
    assert.ok(pages.length > 1, "the snapshot was paged");
  } finally {
    client.close();
    await runtime.stop();
    await sub.close();
    await watch.close();
    await routerBus.close();
    await workerBus.close();
  }
  assert.deepEqual(events.map((e) => e.kind), ["joined", "left"]);
});
