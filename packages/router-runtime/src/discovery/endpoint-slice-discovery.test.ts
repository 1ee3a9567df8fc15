/**
 * EndpointSliceDiscovery against FakeKubeApi (a labelled test double of the
 * API server: the real @kubernetes/client-node list and Watch run against it)
 * and two FakeWorkers (test doubles of the WorkerService over real gRPC).
 *
 * A Service's endpoints share one port and differ by IP, so the second
 * worker is reached at 127.0.0.2 on the first worker's port, through a TCP
 * relay to where that FakeWorker listens (it binds 127.0.0.1 only).
 */
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, test } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { FakeKubeApi, fakeKubeConfig, type RecordedKubeRequest } from "../testing/fake-kube-api.js";
import { FakeWorker } from "../testing/fake-worker.js";
import { WorkerPool } from "../workers/worker-pool.js";
import { EndpointSliceDiscovery, readyAddresses } from "./endpoint-slice-discovery.js";

const NS = "serving";
const SERVICE = "sigmaserve-worker";
const SLICES_PATH = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const WAIT_MS = 5_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves once `predicate` holds, checking every few ms; rejects naming `what` after WAIT_MS. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A TCP relay on host:port to `target` ("127.0.0.1:PORT"). */
async function relay(host: string, port: number, target: string): Promise<Server> {
  const [targetHost, targetPort] = target.split(":") as [string, string];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort), targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return server;
}

/** An EndpointSlice as the EndpointSlice controller writes it for the Service. */
function slice(name: string, port: number, endpoints: Array<{ ip: string; pod: string; ready?: boolean }>, service = SERVICE): k8s.V1EndpointSlice {
  return {
    metadata: { name, labels: { "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" } },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready, serving: e.ready, terminating: !e.ready },
      targetRef: { kind: "Pod", name: e.pod, namespace: NS },
    })),
    ports: [
      { name: "metrics", port: 9100, protocol: "TCP" },
      { name: "grpc", port, protocol: "TCP" },
    ],
  };
}

async function setup() {
  const api = await FakeKubeApi.start();
  cleanups.push(() => api.close());
  const workerA = await FakeWorker.start({ workerId: "worker-a" });
  cleanups.push(() => workerA.stop());
  const workerB = await FakeWorker.start({ workerId: "worker-b" });
  cleanups.push(() => workerB.stop());
  const port = Number(workerA.address.split(":")[1]);
  await relay("127.0.0.2", port, workerB.address);
  const pool = new WorkerPool({ maxMessageMib: 16 });
  cleanups.push(() => pool.close());
  const lines: Array<{ level: number; msg: string }> = [];
  const logger: Logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  const discovery = new EndpointSliceDiscovery({ kubeConfig: fakeKubeConfig(api), namespace: NS, service: SERVICE, pool, logger, pollIntervalMs: 50, relistBaseDelayMs: 10 });
  cleanups.push(() => discovery.stop());
  return { api, port, pool, discovery, lines };
}

/** The pool as [id, address] pairs. */
function members(pool: WorkerPool): string[][] {
  return pool.list().map((w) => [w.id, w.address]);
}

/** "list" or "watch" for each EndpointSlice request, in order. */
function sliceCalls(requests: RecordedKubeRequest[]): string[] {
  return requests.filter((r) => r.path === SLICES_PATH).map((r) => (r.query.watch === "true" ? "watch" : "list"));
}

test("endpoint slice discovery - a slice with two ready endpoints: both workers join the pool at the gRPC port; other Services' slices are ignored", async () => {
  const { api, port, pool, discovery } = await setup();
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [
    { ip: "127.0.0.1", pod: "worker-a", ready: true },
    { ip: "127.0.0.2", pod: "worker-b" }, // conditions.ready unset: ready, as the API documents.
  ]));
  api.putEndpointSlice(NS, slice("other-9q8w7", 1, [{ ip: "127.0.0.3", pod: "other" }], "other-service"));

  await discovery.start();

  assert.deepEqual(discovery.addresses(), [`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
  assert.deepEqual(members(pool), [
    ["worker-a", `127.0.0.1:${port}`],
    ["worker-b", `127.0.0.2:${port}`],
  ]);
  await waitUntil(() => api.openWatches() === 1, "the watch");
  const [list, watch] = api.requests.filter((r) => r.path === SLICES_PATH);
  assert.deepEqual(list!.query, { labelSelector: "kubernetes.io/service-name=sigmaserve-worker" });
  // The watch starts where the list left off (the store's revision after the two slices were written: 2), with bookmarks allowed.
  assert.deepEqual(watch!.query, { watch: "true", labelSelector: "kubernetes.io/service-name=sigmaserve-worker", allowWatchBookmarks: "true", resourceVersion: "2" });
  // Loads are polled too.
  await waitUntil(() => pool.list().every((w) => w.load !== undefined), "the workers' loads");
});

test("endpoint slice discovery - an endpoint turning not ready leaves the pool, comes back when ready; a deleted slice takes its workers away", async () => {
  const { api, port, pool, discovery } = await setup();
  const both = (readyB: boolean) => slice("sigmaserve-worker-x7k2p", port, [
    { ip: "127.0.0.1", pod: "worker-a", ready: true },
    { ip: "127.0.0.2", pod: "worker-b", ready: readyB },
  ]);
  api.putEndpointSlice(NS, both(true));
  await discovery.start();
  await waitUntil(() => api.openWatches() === 1, "the watch");
  assert.equal(pool.list().length, 2);

  api.putEndpointSlice(NS, both(false));
  await waitUntil(() => pool.get("worker-b") === undefined, "worker-b to leave");
  assert.deepEqual(members(pool), [["worker-a", `127.0.0.1:${port}`]]);

  api.putEndpointSlice(NS, both(true));
  await waitUntil(() => pool.get("worker-b") !== undefined, "worker-b to come back");

  api.deleteEndpointSlice(NS, "sigmaserve-worker-x7k2p");
  await waitUntil(() => pool.list().length === 0, "the pool to empty");
  assert.deepEqual(discovery.addresses(), []);
  // All of it over the one watch: no re-list was needed.
  assert.deepEqual(sliceCalls(api.requests), ["list", "watch"]);
});

test("endpoint slice discovery - the server drops the watch: a re-list and a new watch pick up what changed meanwhile", async () => {
  const { api, port, pool, discovery } = await setup();
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [{ ip: "127.0.0.1", pod: "worker-a", ready: true }]));
  await discovery.start();
  await waitUntil(() => api.openWatches() === 1, "the watch");
  assert.deepEqual(members(pool), [["worker-a", `127.0.0.1:${port}`]]);

  // Closed, then changed in the same turn: no watch is open to carry the change.
  assert.equal(api.closeWatches(), 1);
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [
    { ip: "127.0.0.1", pod: "worker-a", ready: true },
    { ip: "127.0.0.2", pod: "worker-b", ready: true },
  ]));

  await waitUntil(() => pool.get("worker-b") !== undefined, "worker-b from the re-list");
  await waitUntil(() => api.openWatches() === 1, "the new watch");
  assert.deepEqual(sliceCalls(api.requests), ["list", "watch", "list", "watch"]);

  // The new watch carries later changes.
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [{ ip: "127.0.0.2", pod: "worker-b", ready: true }]));
  await waitUntil(() => pool.get("worker-a") === undefined, "worker-a to leave");
  assert.deepEqual(members(pool), [["worker-b", `127.0.0.2:${port}`]]);
});

test("endpoint slice discovery - a 410 Expired error event in the watch: listed again, and what changed is picked up", async () => {
  const { api, port, pool, discovery, lines } = await setup();
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [{ ip: "127.0.0.1", pod: "worker-a", ready: true }]));
  await discovery.start();
  await waitUntil(() => api.openWatches() === 1, "the watch");

  assert.equal(api.expireWatches(), 1);
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [{ ip: "127.0.0.2", pod: "worker-b", ready: true }]));

  await waitUntil(() => pool.get("worker-b") !== undefined && pool.get("worker-a") === undefined, "the re-listed set");
  await waitUntil(() => api.openWatches() === 1, "the new watch");
  assert.deepEqual(sliceCalls(api.requests), ["list", "watch", "list", "watch"]);
  assert.ok(lines.some((l) => l.msg === "endpoint slice watch error event: listing again"));
  // Not a failure: nothing logged above info.
  assert.deepEqual(lines.filter((l) => l.level >= 40), []);
});

test("endpoint slice discovery - RBAC denies listing: logged at error naming the rule, start() still resolves, and workers appear once allowed", async () => {
  const { api, port, pool, discovery, lines } = await setup();
  api.putEndpointSlice(NS, slice("sigmaserve-worker-x7k2p", port, [{ ip: "127.0.0.1", pod: "worker-a", ready: true }]));
  api.deny("list", "endpointslices");

  await discovery.start();

  assert.equal(pool.list().length, 0);
  const denied = lines.filter((l) => l.level === 50);
  assert.ok(denied.length >= 1);
  assert.match(denied[0]!.msg, /RBAC forbids list endpointslices in namespace "serving": .*resources: \["endpointslices"\], verbs: \["list", "watch"\]/);

  api.allow("list", "endpointslices");
  await waitUntil(() => pool.get("worker-a") !== undefined, "worker-a after the rule is granted");
});

test("endpoint slice discovery - readyAddresses: ready unset counts, not-ready and port-less slices do not, IPv6 is bracketed, duplicates merge", () => {
  const v4 = slice("a", 50051, [
    { ip: "10.0.0.1", pod: "p1" },
    { ip: "10.0.0.2", pod: "p2", ready: false },
    { ip: "10.0.0.3", pod: "p3", ready: true },
  ]);
  const again = slice("b", 50051, [{ ip: "10.0.0.1", pod: "p1", ready: true }]);
  const v6: k8s.V1EndpointSlice = { addressType: "IPv6", endpoints: [{ addresses: ["fd00::1"] }], ports: [{ name: "grpc", port: 50051 }] };
  const noGrpc: k8s.V1EndpointSlice = { addressType: "IPv4", endpoints: [{ addresses: ["10.0.0.9"] }], ports: [{ name: "http", port: 80 }] };

  assert.deepEqual(readyAddresses([v4, again, v6, noGrpc], "grpc"), ["10.0.0.1:50051", "10.0.0.3:50051", "[fd00::1]:50051"]);
  assert.deepEqual(readyAddresses([noGrpc], "http"), ["10.0.0.9:80"]);
});
