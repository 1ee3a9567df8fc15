/**
 * The router's discovery on a real CoordBus (the memory hub: what goes
 * between the buses is the protobuf bytes NATS would carry), against a
 * scripted worker: a real KvEventLog publishing through the bus, and a
 * snapshot handler that pages what the worker's cache holds.
 *
 * The story: the router indexes a worker's blocks from its events; then the
 * worker (a newer build) publishes a batch whose event kind this router does
 * not know. The router must not guess (the old decoder read it as `cleared`
 * and wiped the worker's entries): it keeps what it knew, asks the worker for
 * a snapshot, and ends with exactly the worker's residency.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { createMemoryCoordBus, kvEventsSubject, MemoryCoordHub, type CoordBus, type KvSnapshotPage } from "@sigmaserve/coord";
import { KvIndex } from "@sigmaserve/kv-index";
import { buildSnapshot, KvEventLog, pageSnapshot, type KvSnapshot } from "@sigmaserve/kvcache/events";
import { coordv1 } from "@sigmaserve/proto";
import { pino } from "pino";
import { WorkerPool } from "../workers/worker-pool.js";
import { BusDiscovery } from "./bus-discovery.js";

const WORKER = "w-newer";
const EPOCH = 0xabcd_0000_0000_0001n;
const WAIT_MS = 3_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves once `predicate` holds, checking after every turn of the event loop; rejects naming `what` after WAIT_MS. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A KvEventBatch as a newer worker writes it: its one event sets KvEvent field
 * 9, a kind this build's proto lacks (written with the wire writer, since our
 * encoder cannot produce it). Its payload looks like a stored K block 0x99.
 */
function batchWithUnknownKind(firstSeq: bigint): Uint8Array {
  const payload = new BinaryWriter().tag(1, WireType.Varint).int32(1).tag(3, WireType.LengthDelimited).bytes(new BinaryWriter().fixed64(0x99n).finish()).finish();
  const event = new BinaryWriter().tag(9, WireType.LengthDelimited).bytes(payload).finish();
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string(WORKER)
    .tag(2, WireType.Varint)
    .uint64(EPOCH)
    .tag(3, WireType.Varint)
    .uint64(firstSeq)
    .tag(4, WireType.LengthDelimited)
    .bytes(event)
    .finish();
}

async function startCluster() {
  const hub = new MemoryCoordHub({ registryTtlMs: 60_000 });
  const routerBus: CoordBus = createMemoryCoordBus({ hub });
  const workerBus: CoordBus = createMemoryCoordBus({ hub });
  const pool = new WorkerPool({ maxMessageMib: 16 });
  const index = new KvIndex();
  const discovery = new BusDiscovery(routerBus, pool, index, pino({ level: "silent" }));
  await discovery.start();
  cleanups.push(() => hub.close(), () => routerBus.close(), () => workerBus.close(), () => pool.close(), () => discovery.stop());
  await workerBus.register(create(coordv1.WorkerInfoSchema, { workerId: WORKER, epoch: EPOCH, grpcAddress: "127.0.0.1:9" }));
  await waitUntil(() => pool.get(WORKER) !== undefined, "the worker to join the pool");
  return { hub, workerBus, index };
}

test("bus discovery - a batch with an unknown event kind makes the router resync the worker, not clear it", async () => {
  const { hub, workerBus, index } = await startCluster();
  const log = new KvEventLog({ workerId: WORKER, epoch: EPOCH });

  // Seqs 1-2: K and V of blocks 0x11, 0x12 on the device.
  log.append({ kind: "stored", component: "k", tier: "device", blockHashes: [0x11n, 0x12n] });
  log.append({ kind: "stored", component: "v", tier: "device", blockHashes: [0x11n, 0x12n] });
  await workerBus.publishKvEvents(log.takeBatch()!);
  const known = [
    { component: "k", tier: "device", blockHashes: [0x11n, 0x12n] },
    { component: "v", tier: "device", blockHashes: [0x11n, 0x12n] },
  ];
  await waitUntil(() => index.stats().perWorker[0]?.sync?.appliedSeq === 2, "seqs 1-2 to be applied");
  assert.deepEqual(index.residency(WORKER), known);

  // The worker's truth after seq 3 (the event we cannot read): it also holds K of 0x99, and V of 0x12 went to the host.
  const truth: KvSnapshot = buildSnapshot(WORKER, EPOCH, 3, [
    { component: "k", tier: "device", blockHash: 0x11n },
    { component: "k", tier: "device", blockHash: 0x12n },
    { component: "k", tier: "device", blockHash: 0x99n },
    { component: "v", tier: "device", blockHash: 0x11n },
    { component: "v", tier: "host", blockHash: 0x12n },
  ]);
  const pages = pageSnapshot(truth, 2);
  const requests: { pageToken: string; indexAtRequest: unknown }[] = [];
  await workerBus.serveControl(WORKER, {
    snapshot: async (request): Promise<KvSnapshotPage> => {
      requests.push({ pageToken: request.pageToken, indexAtRequest: index.residency(WORKER) });
      const at = request.pageToken === "" ? 0 : Number(request.pageToken);
      return { page: pages[at]!, nextPageToken: at + 1 < pages.length ? String(at + 1) : "" };
    },
  });

  hub.publish(kvEventsSubject(WORKER), batchWithUnknownKind(3n));
  await waitUntil(() => index.stats().perWorker[0]?.sync?.appliedSeq === 3, "the snapshot as of seq 3 to be applied");

  assert.deepEqual(
    requests.map((r) => r.pageToken),
    ["", "1", "2"],
    "one resync: every page of one snapshot",
  );
  assert.deepEqual(requests[0]?.indexAtRequest, known, "the worker's entries were kept while the snapshot was fetched");
  assert.deepEqual(index.residency(WORKER), truth.residency, "and replaced by exactly the worker's residency");
  assert.deepEqual(index.stats().perWorker[0]?.sync, { epoch: EPOCH, appliedSeq: 3, resyncPending: null });
  assert.deepEqual(
    [...index.overlap([0x11n, 0x12n, 0x99n])].map(([id, o]) => [id, o.matchedBlocks, o.deviceBlocks, o.hostBlocks]),
    [[WORKER, 3, 1, 2]],
    "0x11 fully on the device; 0x12 (V on host) and 0x99 (V not reported) are host hits",
  );

  // Events go on from seq 4 as usual.
  const next = { workerId: WORKER, epoch: EPOCH, firstSeq: 4, events: [{ kind: "stored" as const, seq: 4, component: "v" as const, tier: "device" as const, blockHashes: [0x99n] }] };
  await workerBus.publishKvEvents(next);
  await waitUntil(() => index.stats().perWorker[0]?.sync?.appliedSeq === 4, "seq 4 to be applied");
  assert.deepEqual(index.residency(WORKER).find((g) => g.component === "v" && g.tier === "device")?.blockHashes, [0x11n, 0x99n]);
  assert.equal(requests.length, 3, "no further snapshot");
});
