/**
 * The worker on the in-memory CoordBus (the same scenarios run against a real
 * nats-server in the cross-process tests): it registers, heartbeats, publishes
 * its KV events in seq order, and serves snapshots that agree with the events;
 * a page token of a paging session past its TTL fails by name.
 */
import { ControlHandlerError, MemoryCoordHub, createMemoryCoordBus, type KvEventDelivery, type KvSnapshotPage, type WorkerEvent } from "@sigmaserve/coord";
import { KvEventLog, buildSnapshot, type KvEventBatch } from "@sigmaserve/kvcache";
import { create } from "@bufbuild/protobuf";
import { coordv1, createGrpcClient, workerv1 } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker } from "../worker-runtime.js";
import { joinBus, type BusMember } from "./join-bus.js";
import { DEFAULT_SNAPSHOT_SESSION_TTL_MS } from "./snapshot-sessions.js";

test("worker on the bus - registers, publishes KV events in seq order, and serves a matching snapshot", async () => {
  const hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
  const routerBus = createMemoryCoordBus({ hub });
  const workerBus = createMemoryCoordBus({ hub });
  const events: WorkerEvent[] = [];
  const watch = await routerBus.watchWorkers((e) => events.push(e));
  const batches: KvEventBatch[] = [];
  const undecodable: KvEventDelivery[] = [];
  const sub = await routerBus.subscribeKvEvents((d) => (d.kind === "batch" ? batches.push(d.batch) : undecodable.push(d)));
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--worker-id", "w1"], {}), pino({ level: "silent" }), { bus: workerBus });
  const client = createGrpcClient(workerv1.WorkerService, runtime.address);
  try {
    assert.deepEqual(events.map((e) => [e.kind, e.workerId]), [["joined", "w1"]]);
    for await (const _ of client.generate({ requestId: "r1", model: "sigma-tiny", promptTokenIds: Array.from({ length: 20 }, (_, i) => i + 1), sampling: { temperature: 0, maxTokens: 4 } }));
    for (let i = 0; i < 100 && batches.reduce((n, b) => n + b.events.length, 0) < 10; i++) await new Promise((r) => setTimeout(r, 10));
    // Seqs start at 1 and have no holes across batches.
    let expected = 1;
    for (const batch of batches) {
      assert.equal(batch.firstSeq, expected);
      assert.equal(batch.epoch, runtime.eventLog.epoch);
      expected += batch.events.length;
    }
    assert.deepEqual(undecodable, [], "every batch decodes");
    // 20 prompt tokens + 3 fed-back generated tokens (the 4th is sampled, never computed) = 5 full blocks of 4, K and V each.
    const stored = batches.flatMap((b) => b.events).filter((e) => e.kind === "stored");
    assert.equal(stored.length, 10);
    const first = await routerBus.requestSnapshot("w1", create(coordv1.KvSnapshotRequestSchema, { requesterId: "test", pageToken: "", maxHashes: 4 }));
    assert.equal(first.page.asOfSeq, expected - 1);
    const pages: KvSnapshotPage[] = [first];
    while (pages.at(-1)!.nextPageToken !== "") pages.push(await routerBus.requestSnapshot("w1", create(coordv1.KvSnapshotRequestSchema, { requesterId: "test", pageToken: pages.at(-1)!.nextPageToken, maxHashes: 4 })));
    const hashes = pages.flatMap((p) => p.page.residency.filter((g) => g.component === "k").flatMap((g) => g.blockHashes));
    const storedK = stored.flatMap((e) => (e.kind === "stored" && e.component === "k" ? e.blockHashes : []));
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

test("worker on the bus - a snapshot page token past the session TTL fails by name over the bus; a fresh request starts over", async () => {
  const hub = new MemoryCoordHub({ registryTtlMs: 5_000 });
  const [routerBus, workerBus] = [createMemoryCoordBus({ hub }), createMemoryCoordBus({ hub })];
  // A worker without a model: a real event log, and a cache whose snapshot lists five K blocks on the device.
  const eventLog = new KvEventLog({ workerId: "w-ttl", epoch: 3n });
  const member: BusMember = {
    config: { workerId: "w-ttl" },
    eventLog,
    kv: { snapshot: () => buildSnapshot("w-ttl", 3n, eventLog.lastSeq, [1n, 2n, 3n, 4n, 5n].map((blockHash) => ({ component: "k", tier: "device", blockHash }))) },
    workerInfo: () => create(coordv1.WorkerInfoSchema, { workerId: "w-ttl", epoch: 3n }),
    workerLoad: () => create(coordv1.WorkerLoadSchema, { workerId: "w-ttl", epoch: 3n }),
    drain: async () => {},
  };
  let nowMs = 1_000_000;
  const membership = await joinBus(member, workerBus, pino({ level: "silent" }), { nowMs: () => nowMs, heartbeatIntervalMs: 60_000 });
  const ask = (pageToken: string) => routerBus.requestSnapshot("w-ttl", create(coordv1.KvSnapshotRequestSchema, { requesterId: "test", pageToken, maxHashes: 2 }));
  try {
    const first = await ask("");
    assert.deepEqual(first.page.residency, [{ component: "k", tier: "device", blockHashes: [1n, 2n] }]);
    nowMs += DEFAULT_SNAPSHOT_SESSION_TTL_MS - 1;
    const second = await ask(first.nextPageToken);
    assert.deepEqual(second.page.residency, [{ component: "k", tier: "device", blockHashes: [3n, 4n] }], "a page within the TTL of the last one is served");
    nowMs += DEFAULT_SNAPSHOT_SESSION_TTL_MS;
    await assert.rejects(ask(second.nextPageToken), (err: unknown) => {
      assert.ok(err instanceof ControlHandlerError);
      assert.equal(err.remoteName, "SnapshotPageTokenError");
      assert.equal(
        err.remoteMessage,
        `snapshot page token "${second.nextPageToken}" expired: a paging session ends 30000 ms after its last page was served; ask again with an empty page token`,
      );
      return true;
    });
    const again = await ask("");
    assert.deepEqual(again.page.residency, first.page.residency, "starting over serves the first page again");
  } finally {
    await membership.stop();
    await routerBus.close();
    await workerBus.close();
  }
});
