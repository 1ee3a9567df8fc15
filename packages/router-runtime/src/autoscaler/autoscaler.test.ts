/**
 * The Autoscaler loop on the in-memory bus with a recording ScaleProvider (a
 * test double: the real providers are local-process, tested end to end in
 * test/, and kubernetes, tested against a fake API server). Workers are pool
 * entries with hand-set loads whose drain handlers answer over the bus, so
 * each rule of the loop shows: only the leader acts; a scale-down drains with
 * migration and removes only once DRAINED; a drain that does not finish, or a
 * provider that refuses, leaves the worker in place and is reported.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { MemoryCoordHub, createMemoryCoordBus, type CoordBus } from "@sigmaserve/coord";
import { KvIndex } from "@sigmaserve/kv-index";
import { coordv1 } from "@sigmaserve/proto";
import { pino } from "pino";
import { RecentActivity } from "../metrics/recent-activity.js";
import { RouterMetrics } from "../metrics/router-metrics.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { Autoscaler } from "./autoscaler.js";
import { DEFAULT_SCALE_POLICY } from "./scale-policy.js";
import { ScaleProviderError, type ScaleProvider } from "./scale-provider.js";

class RecordingProvider implements ScaleProvider {
  readonly kind = "recording";
  readonly calls: string[] = [];
  failNext: ScaleProviderError | undefined;
  constructor(public replicas: number) {}
  async desiredReplicas(): Promise<number> {
    return this.replicas;
  }
  async addWorker(): Promise<void> {
    this.calls.push("add");
    this.throwIfAsked();
    this.replicas++;
  }
  async removeWorker(workerId: string): Promise<void> {
    this.calls.push(`remove ${workerId}`);
    this.throwIfAsked();
    this.replicas--;
  }
  async close(): Promise<void> {}
  private throwIfAsked(): void {
    const err = this.failNext;
    this.failNext = undefined;
    if (err !== undefined) throw err;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  autoscaler: Autoscaler;
  provider: RecordingProvider;
  pool: WorkerPool;
  drains: string[];
  logs: { msg: string; [key: string]: unknown }[];
  setLoad(workerId: string, load: { runningRequests?: number; waitingRequests?: number }): void;
}

async function harness(options: { workers: string[]; hub?: MemoryCoordHub; routerId?: string; drainsAfter?: number; windowMs?: number }): Promise<Harness> {
  const hub = options.hub ?? new MemoryCoordHub();
  const bus: CoordBus = createMemoryCoordBus({ hub });
  const pool = new WorkerPool({ maxMessageMib: 4 });
  const states = new Map<string, { polls: number; drained: boolean }>();
  const drains: string[] = [];
  for (const [i, workerId] of options.workers.entries()) {
    pool.upsert(create(coordv1.WorkerInfoSchema, { workerId, epoch: 1n, grpcAddress: `127.0.0.1:${10_000 + i}` }));
    pool.updateLoad(create(coordv1.WorkerLoadSchema, { workerId, epoch: 1n, state: coordv1.WorkerState.READY }));
    states.set(workerId, { polls: 0, drained: false });
    // The worker's drain verb: DRAINING for `drainsAfter` polls, then DRAINED with nothing running.
    const sub = await bus.serveControl(workerId, {
      drain: async (command) => {
        drains.push(`${workerId} migrate=${command.migrate}`);
        const state = states.get(workerId)!;
        state.polls++;
        const done = state.polls > (options.drainsAfter ?? 1);
        return create(coordv1.DrainStatusSchema, { workerId, state: done ? coordv1.WorkerState.DRAINED : coordv1.WorkerState.DRAINING, runningRequests: done ? 0 : 1 });
      },
    });
    cleanups.push(() => sub.close());
  }
  const provider = new RecordingProvider(options.workers.length);
  const logs: Harness["logs"] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as Harness["logs"][number]) });
  const metrics = new RouterMetrics({ admission: () => ({ inFlight: 0, queued: 0 }), workers: () => pool.list() });
  const autoscaler = new Autoscaler({
    bus,
    provider,
    pool,
    index: new KvIndex(),
    recent: new RecentActivity(),
    routerMetrics: metrics,
    logger,
    routerId: options.routerId ?? "router-a",
    policy: { ...DEFAULT_SCALE_POLICY, minWorkers: 1, maxWorkers: 3, downWindowMs: options.windowMs ?? 0, warmupMs: 0 },
    // Ticks are driven by hand: the timer's first tick is far away.
    intervalMs: 3_600_000,
    leaseTtlMs: 1_000,
    drainTimeoutMs: 1_500,
  });
  cleanups.push(async () => {
    await autoscaler.stop();
    pool.close();
    await bus.close();
  });
  return {
    autoscaler,
    provider,
    pool,
    drains,
    logs,
    setLoad: (workerId, load) => pool.updateLoad(create(coordv1.WorkerLoadSchema, { workerId, epoch: 1n, state: coordv1.WorkerState.READY, ...load })),
  };
}

test("autoscaler - waiting requests scale up through the provider; the decision and its signals are logged", async () => {
  const h = await harness({ workers: ["w0", "w1"] });
  await h.autoscaler.start();
  h.setLoad("w0", { waitingRequests: 4 });
  h.setLoad("w1", { waitingRequests: 2 });
  await h.autoscaler.tick();
  assert.deepEqual(h.provider.calls, ["add"]);
  const line = h.logs.find((l) => l.msg === "autoscaler: scale up")!;
  assert.match(String(line["reason"]), /waiting 3\.00\/worker >= 2/);
  assert.deepEqual((line["signals"] as { waitingPerWorker: number }).waitingPerWorker, 3);
});

test("autoscaler - an idle cluster drains the cheapest worker with migration, and removes it only once DRAINED", async () => {
  const h = await harness({ workers: ["w0", "w1", "w2"], drainsAfter: 2 });
  await h.autoscaler.start();
  // w1 runs a request, w0 and w2 are idle: the tie between them goes to the highest id.
  h.setLoad("w1", { runningRequests: 1 });
  await h.autoscaler.tick();
  assert.deepEqual(h.drains, ["w2 migrate=true", "w2 migrate=true", "w2 migrate=true"], "asked until DRAINED");
  assert.deepEqual(h.provider.calls, ["remove w2"]);
  assert.ok(h.logs.some((l) => l.msg === "autoscaler: removed the drained worker" && l["workerId"] === "w2"));
});

test("autoscaler - a worker that does not drain in time is not removed, and the failure is reported", async () => {
  const h = await harness({ workers: ["w0", "w1"], drainsAfter: 1_000 });
  await h.autoscaler.start();
  await h.autoscaler.tick();
  assert.deepEqual(h.provider.calls, [], "never removed with requests running");
  assert.ok(h.logs.some((l) => l.msg === "autoscaler: the worker did not drain in time; it is not removed"));
});

test("autoscaler - a provider that refuses (RBAC) is logged and retried at the next interval; the warm-up hold does not start", async () => {
  const h = await harness({ workers: ["w0"] });
  await h.autoscaler.start();
  h.setLoad("w0", { waitingRequests: 5 });
  h.provider.failNext = new ScaleProviderError("forbidden", 'cannot patch deployments/scale "workers" in namespace "serving"');
  await h.autoscaler.tick();
  const line = h.logs.find((l) => l.msg === "autoscaler: scale-up failed; will retry next interval")!;
  assert.equal(line["kind"], "forbidden");
  await h.autoscaler.tick();
  assert.deepEqual(h.provider.calls, ["add", "add"]);
  assert.equal(h.provider.replicas, 2);
});

test("autoscaler - of two routers on one bus only the lease holder acts; when it stops, the other takes over", async () => {
  const hub = new MemoryCoordHub();
  const a = await harness({ workers: ["w0"], hub, routerId: "router-a" });
  const b = await harness({ workers: ["w0"], hub, routerId: "router-b" });
  await a.autoscaler.start();
  await b.autoscaler.start();
  assert.deepEqual([a.autoscaler.isLeader(), b.autoscaler.isLeader()], [true, false]);
  for (const h of [a, b]) h.setLoad("w0", { waitingRequests: 5 });
  await b.autoscaler.tick();
  assert.deepEqual(b.provider.calls, [], "a follower never scales");
  await a.autoscaler.stop();
  for (let i = 0; i < 100 && !b.autoscaler.isLeader(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(b.autoscaler.isLeader(), true);
  await b.autoscaler.tick();
  assert.deepEqual(b.provider.calls, ["add"]);
});
