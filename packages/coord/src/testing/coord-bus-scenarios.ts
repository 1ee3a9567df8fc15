/**
 * The behaviour every CoordBus must have, as one suite run against each
 * implementation (memory-coord-bus.test.ts, nats-coord-bus.test.ts). A
 * fixture hands out buses on one shared backend (connections to one
 * nats-server, or buses on one MemoryCoordHub); "worker" and "router" below
 * are simply two of them. Scenarios share the backend, so each uses worker
 * ids of its own and looks only at its own workers' events.
 */
import * as assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { create, equals, toBinary } from "@bufbuild/protobuf";
import { coordv1, kvv1 } from "@sigmaserve/proto";
import type { CoordBus, KvEventDelivery, KvSnapshotPage, WorkerEvent } from "../coord-bus.js";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "../defaults.js";
import {
  ControlHandlerError,
  ControlTimeoutError,
  CoordArgumentError,
  CoordClosedError,
  NoResponderError,
  PayloadTooLargeError,
} from "../errors.js";
import { startHeartbeats } from "../heartbeat-loop.js";
import { controlSubject, kvEventsSubject } from "../subjects.js";
import { kvEventBatch, kvEventBatchFirstSeq, oversizeKvEventBatch, uniqueWorkerId, workerInfo, workerLoad } from "./coord-fixtures.js";
import { kvEventScenarios } from "./kv-event-scenarios.js";
import { leaderElectionScenarios } from "./leader-election-scenarios.js";
import { Recorder, sleep } from "./recorder.js";

export interface ScenarioBusOptions {
  maxPayloadBytes?: number;
  onError?: (err: Error) => void;
}

export interface CoordBusScenarioFixture {
  /** The registry TTL of the backend; short (e.g. 600 ms) so expiry scenarios stay fast. */
  registryTtlMs: number;
  /** A new bus on the shared backend. */
  connect(options?: ScenarioBusOptions): Promise<CoordBus>;
  /** Publishes raw bytes on `subject`, past every encoder (what a newer or broken peer would send); resolves once sent. */
  publishRaw(subject: string, bytes: Uint8Array): Promise<void>;
}

export interface CoordBusScenarioSetup {
  setUp(): Promise<CoordBusScenarioFixture>;
  tearDown(): Promise<void>;
}

/** How long a scenario waits for a message that should come. */
const WAIT_MS = 3_000;

const isWorker = (workerId: string) => (event: { workerId: string }) => event.workerId === workerId;

export function coordBusScenarios(impl: string, setup: CoordBusScenarioSetup): void {
  describe(`coord-bus (${impl})`, () => {
    let fixture: CoordBusScenarioFixture;
    const buses: CoordBus[] = [];
    const connect = async (options?: ScenarioBusOptions) => {
      const bus = await fixture.connect(options);
      buses.push(bus);
      return bus;
    };

    before(async () => {
      fixture = await setup.setUp();
    });
    afterEach(async () => {
      await Promise.all(buses.splice(0).map((bus) => bus.close()));
    });
    after(() => setup.tearDown());

    test(`coord-bus (${impl}) - a watcher sees a worker join with its exact WorkerInfo; a later watcher lists it`, async () => {
      const [router, worker] = [await connect(), await connect()];
      const events = new Recorder<WorkerEvent>();
      const watch = await router.watchWorkers(events.push);
      const id = uniqueWorkerId("join");
      const info = workerInfo(id);

      await worker.register(info);
      const joined = await events.waitFor(isWorker(id), WAIT_MS, `${id} joined`);
      assert.equal(joined.kind, "joined");
      assert.ok(equals(coordv1.WorkerInfoSchema, joined.info, info), "the WorkerInfo round-trips exactly");
      assert.equal(joined.info.epoch, 0x1234_5678_9abc_def0n);
      assert.deepEqual(joined.info.labels, { zone: "a", gpu: "h200" });
      const listedNow = watch.workers().get(id);
      assert.ok(listedNow !== undefined && equals(coordv1.WorkerInfoSchema, listedNow, info));

      // A watcher started now gets the current set before watchWorkers() resolves.
      const late = new Recorder<WorkerEvent>();
      await (await connect()).watchWorkers(late.push);
      const initial = late.filter(isWorker(id));
      assert.equal(initial.length, 1);
      assert.equal(initial[0]?.kind, "joined");
      assert.ok(equals(coordv1.WorkerInfoSchema, initial[0].info, info));
    });

    test(`coord-bus (${impl}) - heartbeats keep a worker registered and carry its load; when they stop it leaves after the TTL`, async () => {
      const ttlMs = fixture.registryTtlMs;
      const [router, worker] = [await connect(), await connect()];
      const id = uniqueWorkerId("beat");
      const events = new Recorder<WorkerEvent>();
      await router.watchWorkers(events.push);
      const loads = new Recorder<coordv1.WorkerLoad>();
      await router.subscribeLoads(loads.push, { workerId: id });
      const everyLoad = new Recorder<coordv1.WorkerLoad>();
      await router.subscribeLoads(everyLoad.push);

      const registration = await worker.register(workerInfo(id));
      await events.waitFor(isWorker(id), WAIT_MS, `${id} joined`);
      let beats = 0;
      const loop = startHeartbeats(registration, () => workerLoad(id, ++beats), { intervalMs: ttlMs / 6 });
      await sleep(ttlMs * 2);
      assert.deepEqual(events.filter(isWorker(id)).map((e) => e.kind), ["joined"], "no left while heartbeating, and no update either");

      const first = await loads.waitFor((load) => load.runningRequests === 1, WAIT_MS, "the first load");
      assert.ok(equals(coordv1.WorkerLoadSchema, first, workerLoad(id, 1)), "the load round-trips exactly");
      assert.ok(loads.items.length >= 5, `expected about 12 loads in 2 TTLs, got ${loads.items.length}`);
      assert.deepEqual(
        loads.items.map((load) => load.runningRequests),
        loads.items.map((_, i) => i + 1),
        "loads arrive in order, none lost",
      );
      assert.ok(everyLoad.filter(isWorker(id)).length >= loads.items.length - 1, "the wildcard subscription sees them too");

      await loop.stop();
      const stoppedAt = Date.now();
      const left = await events.waitFor((e) => e.workerId === id && e.kind === "left", ttlMs + WAIT_MS, `${id} left`);
      const silentMs = Date.now() - stoppedAt;
      assert.equal(left.kind === "left" && left.reason, "expired");
      assert.ok(silentMs >= ttlMs * 0.6, `left after ${silentMs} ms, before the TTL of ${ttlMs} ms`);

      // And it is gone for a new watcher too (the server may expire a few ms after the watcher did).
      let listed = true;
      for (let attempt = 0; attempt < 20 && listed; attempt++) {
        const late = new Recorder<WorkerEvent>();
        const watch = await router.watchWorkers(late.push);
        listed = late.filter(isWorker(id)).length > 0;
        await watch.close();
        if (listed) await sleep(100);
      }
      assert.equal(listed, false, "an expired worker is not listed");
    });

    test(`coord-bus (${impl}) - deregister reports left at once and ends the registration`, async () => {
      const [router, worker] = [await connect(), await connect()];
      const id = uniqueWorkerId("dereg");
      const events = new Recorder<WorkerEvent>();
      const watch = await router.watchWorkers(events.push);
      const registration = await worker.register(workerInfo(id));
      await events.waitFor(isWorker(id), WAIT_MS, `${id} joined`);

      await registration.deregister();
      const left = await events.waitFor((e) => e.workerId === id && e.kind === "left", WAIT_MS, `${id} left`);
      assert.equal(left.kind === "left" && left.reason, "deregistered");
      assert.ok(equals(coordv1.WorkerInfoSchema, left.info, workerInfo(id)), "left carries the last known info");
      assert.equal(watch.workers().has(id), false);
      await assert.rejects(registration.heartbeat(workerLoad(id, 1)), CoordClosedError);
      await assert.rejects(registration.update(workerInfo(id)), CoordClosedError);
    });

    test(`coord-bus (${impl}) - update reports updated; a new epoch under the same id reports left (restarted) then joined`, async () => {
      const [router, worker, restarted] = [await connect(), await connect(), await connect()];
      const id = uniqueWorkerId("epoch");
      const events = new Recorder<WorkerEvent>();
      await router.watchWorkers(events.push);
      const registration = await worker.register(workerInfo(id));
      await events.waitFor(isWorker(id), WAIT_MS, `${id} joined`);

      const moved = workerInfo(id);
      moved.grpcAddress = "10.0.0.8:50051";
      await registration.update(moved);
      const updated = await events.waitFor((e) => e.workerId === id && e.kind === "updated", WAIT_MS, `${id} updated`);
      assert.ok(updated.kind === "updated");
      assert.equal(updated.info.grpcAddress, "10.0.0.8:50051");
      assert.equal(updated.previous.grpcAddress, "10.0.0.7:50051");
      assert.equal(registration.info.grpcAddress, "10.0.0.8:50051");

      await restarted.register(workerInfo(id, 99n));
      await events.waitFor((e) => e.workerId === id && e.kind === "joined" && e.info.epoch === 99n, WAIT_MS, `${id} rejoined`);
      assert.deepEqual(
        events.filter(isWorker(id)).map((e) => [e.kind, e.kind === "left" ? e.reason : e.info.epoch]),
        [
          ["joined", 0x1234_5678_9abc_def0n],
          ["updated", 0x1234_5678_9abc_def0n],
          ["left", "restarted"],
          ["joined", 99n],
        ],
      );
    });

    kvEventScenarios(impl, { connect, fixture: () => fixture });
    leaderElectionScenarios(impl, { connect });

    test(`coord-bus (${impl}) - control: snapshot, drain, migration offer, done and request round-trip`, async () => {
      const [router, worker] = [await connect(), await connect()];
      const id = uniqueWorkerId("ctl");
      const received: unknown[] = [];
      const snapshotReply: KvSnapshotPage = {
        page: { workerId: id, epoch: 7n, asOfSeq: 99, residency: [{ component: "k", tier: "device", blockHashes: [1n, 0xffff_ffff_ffff_ffffn] }] },
        nextPageToken: "page-2",
      };
      const drainStatus = create(coordv1.DrainStatusSchema, { workerId: id, state: coordv1.WorkerState.DRAINING, runningRequests: 3 });
      const migrationReply = create(coordv1.MigrationReplySchema, { migrationId: "m-1", accepted: true, wantedBlockHashes: [5n, 6n] });
      /** The headers the migrate.offer and migrate.done handlers saw. */
      const offerHeaders: Readonly<Record<string, string>>[] = [];
      await worker.serveControl(id, {
        snapshot: async (request) => (received.push(request), snapshotReply),
        drain: async (command) => (received.push(command), drainStatus),
        migrateOffer: async (offer, context) => (received.push(offer), offerHeaders.push(context.headers), migrationReply),
        migrateDone: async (done, context) => (received.push(done), void offerHeaders.push(context.headers)),
        migrateRequest: async (request) => (received.push(request), migrationResult),
      });

      const snapshotRequest = create(coordv1.KvSnapshotRequestSchema, { requesterId: "router-1", pageToken: "page-1", maxHashes: 100 });
      const drainCommand = create(coordv1.DrainCommandSchema, { requesterId: "router-1", graceMs: 30_000, migrate: true });
      const offer = create(coordv1.MigrationOfferSchema, {
        migrationId: "m-1",
        sourceWorkerId: "src",
        sourceEpoch: 3n,
        blocks: [{ blockHash: 5n }, { blockHash: 6n, parentBlockHash: 5n }],
        components: [kvv1.KvComponent.K, kvv1.KvComponent.V],
        model: "sigma-tiny",
      });
      const done = create(coordv1.MigrationDoneSchema, { migrationId: "m-1", blocksImported: 2, bytesReceived: 81_920n, durationMs: 12.5, kCompleteMs: 2.5 });
      const migrationRequest = create(coordv1.MigrationRequestSchema, { targetWorkerId: "dst", blockHashes: [5n, 6n], requestId: "r-9", requesterId: "router-1" });
      const migrationResult = create(coordv1.MigrationResultSchema, { migrationId: "m-1", outcome: coordv1.MigrationOutcome.DONE, offeredBlocks: 2, wantedBlocks: 2, done });

      assert.deepEqual(await router.requestSnapshot(id, snapshotRequest), snapshotReply);
      assert.ok(equals(coordv1.DrainStatusSchema, await router.requestDrain(id, drainCommand), drainStatus));
      // Headers (the W3C trace context, say) travel beside the message and reach the handler as sent.
      const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      assert.ok(equals(coordv1.MigrationReplySchema, await router.offerMigration(id, offer, { headers: { traceparent, tracestate: "vendor=1" } }), migrationReply));
      assert.equal(await router.reportMigrationDone(id, done), undefined);
      assert.deepEqual(offerHeaders, [{ traceparent, tracestate: "vendor=1" }, {}], "the offer's headers arrived; the done carried none");
      assert.ok(equals(coordv1.MigrationResultSchema, await router.requestMigration(id, migrationRequest), migrationResult));
      assert.equal(received.length, 5);
      assert.ok(equals(coordv1.KvSnapshotRequestSchema, received[0] as coordv1.KvSnapshotRequest, snapshotRequest));
      assert.ok(equals(coordv1.DrainCommandSchema, received[1] as coordv1.DrainCommand, drainCommand));
      assert.ok(equals(coordv1.MigrationOfferSchema, received[2] as coordv1.MigrationOffer, offer));
      assert.ok(equals(coordv1.MigrationDoneSchema, received[3] as coordv1.MigrationDone, done));
      assert.ok(equals(coordv1.MigrationRequestSchema, received[4] as coordv1.MigrationRequest, migrationRequest));
    });

    test(`coord-bus (${impl}) - the KV object store: put, get, list with metadata, delete; a bucket shared by two buses`, async () => {
      const [a, b] = [await connect(), await connect()];
      const bucket = `kv-${uniqueWorkerId("objs")}`;
      const storeA = await a.openObjectStore({ bucket, maxBytes: 1 << 20, ttlMs: 60_000 });
      const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251); // several chunks on NATS
      await storeA.put("00ab.k", payload, { parent: "", tokens: "16" });
      await storeA.put("00ab.v", payload.subarray(0, 10), { parent: "ff" });
      const storeB = await b.openObjectStore({ bucket, maxBytes: 1 << 20, ttlMs: 60_000 });
      assert.deepEqual(await storeB.get("00ab.k"), payload);
      assert.equal(await storeB.get("nope"), null);
      const listed = (await storeB.list()).sort((x, y) => (x.name < y.name ? -1 : 1));
      assert.deepEqual(listed, [
        { name: "00ab.k", size: 300_000, metadata: { parent: "", tokens: "16" } },
        { name: "00ab.v", size: 10, metadata: { parent: "ff" } },
      ]);
      await storeB.delete("00ab.v");
      assert.deepEqual((await storeA.list()).map((o) => o.name), ["00ab.k"]);
      await assert.rejects(a.openObjectStore({ bucket: "no dots.here", maxBytes: 1, ttlMs: 1 }), (err) => err instanceof CoordArgumentError && /bucket/.test(err.message));
    });

    test(`coord-bus (${impl}) - clusterSecret: two buses racing for one name get the same 32 random bytes; names differ, bad names are refused`, async () => {
      const [a, b] = [await connect(), await connect()];
      const name = uniqueWorkerId("secret");
      const [fromA, fromB] = await Promise.all([a.clusterSecret(name), b.clusterSecret(name)]);
      assert.equal(fromA.length, 32);
      assert.deepEqual(fromB, fromA);
      assert.deepEqual(await b.clusterSecret(name), fromA, "asked again: unchanged");
      assert.notDeepEqual(await a.clusterSecret(`${name}-other`), fromA);
      await assert.rejects(a.clusterSecret("no dots.here"), (err) => err instanceof CoordArgumentError && /^name: /.test(err.message));
    });

    test(`coord-bus (${impl}) - a handler's error reaches the requester; an unserved verb has no responder`, async () => {
      const errors: Error[] = [];
      const [router, worker] = [await connect(), await connect({ onError: (err) => errors.push(err) })];
      const id = uniqueWorkerId("ctlerr");
      const serving = await worker.serveControl(id, {
        drain: async () => {
          throw new Error("drain refused:\nalready draining");
        },
      });
      await assert.rejects(router.requestDrain(id, create(coordv1.DrainCommandSchema, {})), (err: unknown) => {
        assert.ok(err instanceof ControlHandlerError);
        assert.equal(err.remoteName, "Error");
        assert.equal(err.remoteMessage, "drain refused: already draining");
        assert.equal(err.subject, controlSubject(id, "drain"));
        return true;
      });
      assert.equal(errors[0]?.message, "drain refused:\nalready draining", "the worker hears of it too");
      await assert.rejects(router.requestSnapshot(id, create(coordv1.KvSnapshotRequestSchema, {})), NoResponderError);
      await serving.close();
      await assert.rejects(router.requestDrain(id, create(coordv1.DrainCommandSchema, {})), NoResponderError);
    });

    test(`coord-bus (${impl}) - a request to an absent worker fails fast with NoResponderError`, async () => {
      const router = await connect();
      const id = uniqueWorkerId("absent");
      const startedAt = performance.now();
      await assert.rejects(
        router.requestSnapshot(id, create(coordv1.KvSnapshotRequestSchema, {}), { timeoutMs: 5_000 }),
        (err: unknown) => err instanceof NoResponderError && err.subject === controlSubject(id, "snapshot"),
      );
      const elapsedMs = performance.now() - startedAt;
      assert.ok(elapsedMs < 1_000, `took ${elapsedMs.toFixed(0)} ms against a 5000 ms timeout`);
    });

    test(`coord-bus (${impl}) - a handler slower than the timeout gives ControlTimeoutError`, async () => {
      const [router, worker] = [await connect(), await connect()];
      const id = uniqueWorkerId("slow");
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      await worker.serveControl(id, {
        drain: async () => {
          await released;
          return create(coordv1.DrainStatusSchema, { workerId: id });
        },
      });
      const startedAt = performance.now();
      await assert.rejects(
        router.requestDrain(id, create(coordv1.DrainCommandSchema, {}), { timeoutMs: 200 }),
        (err: unknown) => err instanceof ControlTimeoutError && err.timeoutMs === 200,
      );
      const elapsedMs = performance.now() - startedAt;
      assert.ok(elapsedMs >= 180 && elapsedMs < 1_500, `timed out after ${elapsedMs.toFixed(0)} ms`);
      release();
    });

    test(`coord-bus (${impl}) - oversize messages are refused with PayloadTooLargeError naming the size`, async () => {
      const [router, worker] = [await connect(), await connect()];
      const id = uniqueWorkerId("big");
      const seen = new Recorder<KvEventDelivery>();
      await router.subscribeKvEvents(seen.push, { workerId: id });

      const batch = oversizeKvEventBatch(id, DEFAULT_MAX_PAYLOAD_BYTES);
      // The size on the wire, computed apart from the bus: the batch's proto with an 8-byte publish time.
      const wire = create(coordv1.KvEventBatchSchema, {
        workerId: id,
        epoch: batch.epoch,
        firstSeq: 1n,
        events: [{ kind: { case: "stored", value: { component: kvv1.KvComponent.K, tier: kvv1.KvTier.DEVICE, blockHashes: batch.events[0]?.kind === "stored" ? batch.events[0].blockHashes : [] } } }],
        publishedAtUnixMs: BigInt(Date.now()),
      });
      const sizeBytes = toBinary(coordv1.KvEventBatchSchema, wire).byteLength;
      assert.equal(worker.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES);
      await assert.rejects(worker.publishKvEvents(batch), (err: unknown) => {
        assert.ok(err instanceof PayloadTooLargeError);
        assert.equal(err.sizeBytes, sizeBytes);
        assert.equal(err.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES);
        assert.equal(err.subject, kvEventsSubject(id));
        assert.match(err.message, new RegExp(`${sizeBytes} bytes exceeds the limit of ${DEFAULT_MAX_PAYLOAD_BYTES} bytes`));
        return true;
      });

      // A smaller limit applies to control requests and replies alike.
      const small = await connect({ maxPayloadBytes: 4_096 });
      await small.serveControl(id, {
        snapshot: async () => ({
          page: { workerId: id, epoch: 1n, asOfSeq: 0, residency: [{ component: "v", tier: "host", blockHashes: Array.from({ length: 1_000 }, (_, i) => BigInt(i)) }] },
          nextPageToken: "",
        }),
      });
      await assert.rejects(router.requestSnapshot(id, create(coordv1.KvSnapshotRequestSchema, {})), (err: unknown) => {
        assert.ok(err instanceof ControlHandlerError);
        assert.equal(err.remoteName, "PayloadTooLargeError");
        assert.match(err.remoteMessage, /\d+ bytes exceeds the limit of 4096 bytes/);
        return true;
      });
      const bigRequest = create(coordv1.KvSnapshotRequestSchema, { pageToken: "x".repeat(5_000) });
      await assert.rejects(small.requestSnapshot(id, bigRequest), PayloadTooLargeError);
      await sleep(50);
      assert.equal(seen.items.length, 0, "nothing oversize was delivered");
    });

    test(`coord-bus (${impl}) - bad worker ids and mismatched ids are refused with CoordArgumentError`, async () => {
      const bus = await connect();
      await assert.rejects(bus.register(workerInfo("has.dot")), (err: unknown) => err instanceof CoordArgumentError && err.field === "info.workerId");
      await assert.rejects(bus.publishKvEvents(kvEventBatch("", 0)), (err: unknown) => err instanceof CoordArgumentError && err.field === "batch.workerId");
      await assert.rejects(bus.requestDrain("a*", create(coordv1.DrainCommandSchema, {})), CoordArgumentError);
      await assert.rejects(bus.serveControl(uniqueWorkerId("none"), {}), (err: unknown) => err instanceof CoordArgumentError && err.field === "handlers");
      const id = uniqueWorkerId("mismatch");
      const registration = await bus.register(workerInfo(id));
      await assert.rejects(registration.heartbeat(workerLoad("someone-else", 1)), (err: unknown) => err instanceof CoordArgumentError && err.field === "load.workerId");
      await assert.rejects(registration.update(workerInfo("someone-else")), (err: unknown) => err instanceof CoordArgumentError && err.field === "info.workerId");
      await registration.deregister();
    });

    test(`coord-bus (${impl}) - a callback that throws is reported to onError and delivery goes on`, async () => {
      const errors: Error[] = [];
      const [router, worker] = [await connect({ onError: (err) => errors.push(err) }), await connect()];
      const id = uniqueWorkerId("throw");
      const seen = new Recorder<KvEventDelivery>();
      await router.subscribeKvEvents(
        (delivery) => {
          seen.push(delivery);
          if (delivery.kind === "batch" && delivery.batch.firstSeq === 1) throw new Error("consumer bug");
        },
        { workerId: id },
      );
      await worker.publishKvEvents(kvEventBatch(id, 0));
      await worker.publishKvEvents(kvEventBatch(id, 1));
      await seen.waitFor((d) => d.kind === "batch" && d.batch.firstSeq === kvEventBatchFirstSeq(1), WAIT_MS, "the second batch");
      assert.deepEqual(errors.map((err) => err.message), ["consumer bug"]);
    });

    test(`coord-bus (${impl}) - after close() every call rejects with CoordClosedError and subscriptions stop`, async () => {
      const [bus, other] = [await connect(), await connect()];
      const id = uniqueWorkerId("closed");
      const seen = new Recorder<KvEventDelivery>();
      await bus.subscribeKvEvents(seen.push, { workerId: id });
      const registration = await bus.register(workerInfo(id));
      await bus.close();
      await bus.close();

      await assert.rejects(bus.register(workerInfo(id)), CoordClosedError);
      await assert.rejects(bus.publishKvEvents(kvEventBatch(id, 0)), CoordClosedError);
      await assert.rejects(bus.watchWorkers(() => {}), CoordClosedError);
      await assert.rejects(bus.subscribeLoads(() => {}), CoordClosedError);
      await assert.rejects(bus.requestDrain(id, create(coordv1.DrainCommandSchema, {})), CoordClosedError);
      await assert.rejects(registration.heartbeat(workerLoad(id, 1)), CoordClosedError);
      await other.publishKvEvents(kvEventBatch(id, 0));
      await sleep(50);
      assert.equal(seen.items.length, 0);
    });
  });
}
