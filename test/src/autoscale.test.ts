/**
 * The autoscaler on real processes: a router with `--autoscale` and the
 * local-process provider starts and stops real worker processes over a real
 * nats-server. A load spike scales the cluster up within a few intervals, the
 * new worker takes traffic, and once the spike is over one worker is drained
 * with migration and removed: no request fails and the decisions are exactly
 * up (to min), up (the spike), down: no flapping. Then leader election: two
 * routers contend for the lease, one leads, and when it is killed (SIGKILL,
 * so it cannot release) the other takes over within one lease period.
 *
 * Intervals are short (1 s) so the test runs in under a minute; the rules are
 * the production ones.
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import assert from "node:assert/strict";
import { test } from "node:test";
import { entry, startCluster, type Cluster, type ProcessHandle } from "./cluster.js";

const INTERVAL_S = 1;
const WARMUP_S = 3;
const DOWN_WINDOW_S = 4;
const LEASE_TTL_S = 2;

const workerCommand = (natsUrl: string) =>
  JSON.stringify([process.execPath, entry("@sigmaserve/worker"), "--preset", "sigma-tiny", "--port", "0", "--nats", natsUrl, "--max-num-seqs", "2", "--drain-migrate"]);

const autoscaleFlags = (natsUrl: string, routerId: string, bounds: string) => [
  "--router-id",
  routerId,
  "--autoscale",
  bounds,
  "--autoscale-provider",
  "local-process",
  "--autoscale-worker-command",
  workerCommand(natsUrl),
  "--autoscale-worker-id-prefix",
  `${routerId}-worker`,
  "--autoscale-interval-s",
  String(INTERVAL_S),
  "--autoscale-warmup-s",
  String(WARMUP_S),
  "--autoscale-down-window-s",
  String(DOWN_WINDOW_S),
  "--autoscale-lease-ttl-s",
  String(LEASE_TTL_S),
];

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const readyWorkers = async (client: SigmaserveClient) => (await client.listModels().catch(() => []))[0]?.readyWorkers ?? 0;

async function metric(httpAddress: string, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`http://${httpAddress}/metrics`)).text();
  const match = pattern.exec(text);
  return match === null ? undefined : Number(match[1]);
}

const steps = (router: ProcessHandle) => router.logs.filter((l) => typeof l["msg"] === "string" && (l["msg"] as string).startsWith("autoscaler: scale "));

test("autoscale - a spike scales up, the new worker takes traffic, the idle cluster drains one worker with migration and removes it: 0 failures, no flapping", async () => {
  const nats = await import("@sigmaserve/testkit").then((m) => m.startNatsServer());
  let cluster: Cluster | undefined;
  let spiking = true;
  try {
    cluster = await startCluster({ workers: 0, natsUrl: nats.url, routerFlags: autoscaleFlags(nats.url, "router-a", "1..2") });
    const router = cluster.router;
    const client = createClient({ address: cluster.grpcAddress, retry: { maxAttempts: 1 } });
    // Below min at start: the first decision starts worker 0.
    await until("the first worker", 90_000, async () => ((await readyWorkers(client)) === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, WARMUP_S * 1000));

    // The spike: 8 clients back to back on workers that run 2 sequences each, so requests wait.
    let ok = 0;
    const failures: string[] = [];
    const spikeStartedAt = Date.now();
    const clientLoop = async (c: number) => {
      for (let i = 0; spiking; i++) {
        try {
          let tokens = 0;
          for await (const event of client.generate({ model: "sigma-tiny", prompt: `client ${c} asks question ${i} about the lighthouse`, maxTokens: 24, ignoreEos: true, seed: c * 1000 + i })) {
            if (event.type === "chunk") tokens += event.tokenIds.length;
          }
          assert.equal(tokens, 24);
          ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => clientLoop(c));
    await until("a second ready worker", 90_000, async () => ((await readyWorkers(client)) === 2 ? true : undefined));
    const up = steps(router).find((l) => l["action"] === "up" && /waiting/.test(String(l["reason"])));
    assert.ok(up !== undefined, "the spike's scale-up names the waiting requests");
    const decidedAfterMs = Number(up["time"]) - spikeStartedAt;
    assert.ok(decidedAfterMs <= 4 * INTERVAL_S * 1000, `scaled up ${decidedAfterMs} ms into the spike (within a few ${INTERVAL_S} s intervals)`);
    // The new worker takes traffic.
    const newWorker = `router-a-worker-1`;
    await until("requests routed to the new worker", 30_000, async () =>
      ((await metric(cluster!.httpAddress, new RegExp(`sigmaserve_router_routing_decisions_total\\{[^}]*worker="${newWorker}"[^}]*\\} (\\d+)`))) ?? 0) > 0 ? true : undefined,
    );
    spiking = false;
    await Promise.all(clients);

    // Idle: after the window, one worker is drained with migration and removed.
    const removed = await until("a drained worker removed", 60_000, () => router.logs.find((l) => l["msg"] === "autoscaler: removed the drained worker"));
    const victim = String(removed["workerId"]);
    const drainReport = router.logs.find((l) => l["msg"] === "drain migrated this worker's requests and hot prefixes");
    assert.ok(drainReport !== undefined, `the removed worker ${victim} drained with migration to its peer`);
    await until("one ready worker after the removal", 30_000, async () => ((await readyWorkers(client)) === 1 ? true : undefined));

    assert.deepEqual(failures, [], "no request failed");
    assert.ok(ok > 8, `${ok} requests completed`);
    // Exactly three steps: to min, the spike, the scale-down; hold decisions in between, never an up/down flip.
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_S * 1000));
    assert.deepEqual(
      steps(router).map((l) => l["action"]),
      ["up", "up", "down"],
    );
    const holds = await metric(cluster.httpAddress, /sigmaserve_autoscaler_decisions_total\{action="hold",provider="local-process"\} (\d+)/);
    assert.ok((holds ?? 0) > 3, "the intervals between the steps held");
    // Still serving on the one worker left.
    for await (const event of client.generate({ model: "sigma-tiny", prompt: "after the scale-down", maxTokens: 4, ignoreEos: true })) void event;
    client.close();
  } finally {
    spiking = false;
    // SIGTERM: the router stops the workers it started (SIGKILL would orphan them).
    await cluster?.router.kill("SIGTERM");
    await cluster?.stop();
    await nats.stop();
  }
});

test("autoscale - leader election: of two routers one leads; killed, the other takes over within one lease period", async () => {
  const nats = await import("@sigmaserve/testkit").then((m) => m.startNatsServer());
  let cluster: Cluster | undefined;
  let second: ProcessHandle | undefined;
  const orphans: number[] = [];
  try {
    cluster = await startCluster({ workers: 0, natsUrl: nats.url, routerFlags: autoscaleFlags(nats.url, "router-a", "1..1") });
    second = await cluster.addRouter(autoscaleFlags(nats.url, "router-b", "1..1"));
    const addresses = [cluster.httpAddress, second.ready["http"] as string];
    const leaders = async () => Promise.all(addresses.map((a) => metric(a, /^sigmaserve_autoscaler_leader (\d+)$/m).catch(() => undefined)));
    assert.deepEqual((await leaders()).sort(), [0, 1], "exactly one leads");
    const leaderIndex = (await leaders()).indexOf(1);
    const [leader, follower] = leaderIndex === 0 ? [cluster.router, second] : [second, cluster.router];
    // The leader has started the one worker; it will be orphaned by the SIGKILL, so remember it.
    await until("the leader's worker", 30_000, () => leader.logs.find((l) => l["msg"] === "local-process provider: started a worker"));
    for (const line of leader.logs.filter((l) => l["msg"] === "local-process provider: started a worker")) orphans.push(Number(line["pid"]));

    const killedAt = Date.now();
    await leader.kill("SIGKILL");
    const followerAddress = addresses[1 - leaderIndex]!;
    await until("the follower to lead", 3 * LEASE_TTL_S * 1000, async () => ((await metric(followerAddress, /^sigmaserve_autoscaler_leader (\d+)$/m)) === 1 ? true : undefined));
    const tookOverMs = Date.now() - killedAt;
    // The lease expires at most one TTL after its last renewal, which came before the kill; the metric is polled every 100 ms.
    assert.ok(tookOverMs <= LEASE_TTL_S * 1000 + 300, `took over ${tookOverMs} ms after the kill (lease ${LEASE_TTL_S} s)`);
    const line = follower.logs.find((l) => l["msg"] === "autoscaler: this router leads");
    assert.ok(line !== undefined && Number(line["term"]) >= 2, "with a new term");
    await follower.kill("SIGTERM");
  } finally {
    for (const pid of orphans) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await second?.kill("SIGTERM");
    await cluster?.router.kill("SIGTERM");
    await cluster?.stop();
    await nats.stop();
  }
});
