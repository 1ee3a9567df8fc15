/**
 * nats-restart: steady load (a seeded request every 100 ms, ~10 req/s) on
 * the stream cluster while its nats-server is stopped and started again on
 * the same port, alternately keeping its JetStream store and with a fresh
 * one (state lost). Tokens flow router → worker over gRPC, not NATS, so the
 * oracle is strict: 0 failed requests, every one equal to its reference
 * (its own seed, run before the outage), and the registry back to every
 * worker afterwards. Recovery time: from the restart until a fresh bus
 * connection's registry watch lists every live worker (with a fresh store
 * the registry starts empty: the workers' next heartbeats re-register them),
 * and then /readyz counts them all routable.
 */
import { createClient, type SigmaserveClient } from "@sigmaserve/client";
import { connectNatsCoordBus } from "@sigmaserve/coord";
import type { ChaosCluster } from "./chaos-cluster.js";
import { awaitIdle } from "./cluster-view.js";
import { RunTally, medianAndMax, sleep, within, type Scenario } from "./scenario.js";
import { describeError, differs, seededRequest, streamSeeded, type StreamOutcome } from "./seeded-stream.js";
import { liveWorkers } from "./stream-cluster.js";

const REQUEST_INTERVAL_MS = 100;
const OUTAGE_MS = 1_500;
const LOAD_BEFORE_MS = 1_000;
const LOAD_AFTER_MS = 2_000;
const RECOVERY_BOUND_MS = 30_000;
/** Seeded requests the load cycles through (references are computed once). */
const DISTINCT_REQUESTS = 8;

async function routableWorkers(routerHttp: string): Promise<number> {
  const body = (await (await fetch(`http://${routerHttp}/readyz`)).json().catch(() => ({}))) as { routable_workers?: number };
  return body.routable_workers ?? 0;
}

/** Fires one request every REQUEST_INTERVAL_MS until `stop()`; each is checked against its reference. */
function steadyLoad(client: SigmaserveClient, references: StreamOutcome[]) {
  let running = true;
  let sent = 0;
  const problems: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (running) {
      const i = sent++;
      const call = streamSeeded(client, seededRequest(3_000 + (i % DISTINCT_REQUESTS), 16, 8), undefined, 20_000).then((got) => {
        const mismatch = differs(got, references[i % DISTINCT_REQUESTS]!);
        if (mismatch !== "") problems.push(`request ${i}: ${got.error === undefined ? mismatch : describeError(got.error)}`);
      });
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
      await sleep(REQUEST_INTERVAL_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return { sent, problems };
    },
  };
}

async function outage(cluster: ChaosCluster, freshStore: boolean): Promise<number> {
  await cluster.nats.stop();
  await sleep(OUTAGE_MS);
  await cluster.nats.start({ freshStore });
  const restartedAtMs = performance.now();
  const ids = liveWorkers(cluster).map((w) => w.id);
  const bus = await connectNatsCoordBus({ servers: cluster.nats.url, name: "chaos-nats-restart" });
  try {
    const watch = await bus.watchWorkers(() => {});
    while (ids.some((id) => !watch.workers().has(id))) {
      if (performance.now() - restartedAtMs > RECOVERY_BOUND_MS) throw new Error(`the registry did not list ${ids.join(", ")} within ${RECOVERY_BOUND_MS} ms`);
      await sleep(20);
    }
    await watch.close();
  } finally {
    await bus.close();
  }
  while ((await routableWorkers(cluster.routers[0]!.httpAddress)) < ids.length) {
    if (performance.now() - restartedAtMs > RECOVERY_BOUND_MS) throw new Error(`/readyz did not count ${ids.length} routable workers within ${RECOVERY_BOUND_MS} ms`);
    await sleep(50);
  }
  return performance.now() - restartedAtMs;
}

export const natsRestart: Scenario = {
  name: "nats-restart",
  capMs: { full: 3 * 60_000, short: 25_000 },
  runs: (count, short) => (short ? 2 : Math.max(2, 2 * Math.ceil(count / 50))),
  async run(context) {
    const cluster = await context.streams.get();
    const client = createClient({ address: cluster.routers[0]!.grpcAddress });
    const tally = new RunTally();
    const recoveryMs: number[] = [];
    let requests = 0;
    let skipped = 0;
    try {
      const references: StreamOutcome[] = [];
      for (let i = 0; i < DISTINCT_REQUESTS; i++) references.push(await streamSeeded(client, seededRequest(3_000 + i, 16, 8)));
      for (let run = 0; run < context.runs; run++) {
        if (performance.now() > context.deadlineMs) {
          skipped = context.runs - run;
          break;
        }
        const freshStore = run % 2 === 1;
        const kind = freshStore ? "fresh store" : "store kept";
        const problem = await within(60_000, `run ${run}`, (async () => {
          const load = steadyLoad(client, references);
          await sleep(LOAD_BEFORE_MS);
          const recovered = await outage(cluster, freshStore).catch((err: Error) => err);
          await sleep(LOAD_AFTER_MS);
          const { sent, problems } = await load.stop();
          requests += sent;
          if (recovered instanceof Error) return `${kind}: ${recovered.message}`;
          recoveryMs.push(recovered);
          return problems.length === 0 ? "" : `${kind}: ${problems.length} of ${sent} requests failed or differed: ${problems.slice(0, 3).join("; ")}`;
        })()).catch((err: Error) => err.message);
        tally.record(`run ${run} (${kind})`, problem);
        context.log(`  run ${run} (${kind}): ${problem === "" ? "passed" : `FAILED: ${problem}`}`);
      }
      tally.endCheck("end: workers idle", await awaitIdle(liveWorkers(cluster).map((w) => w.grpcAddress), 10_000));
    } finally {
      client.close();
    }
    const recovery = medianAndMax(recoveryMs);
    return {
      ...tally.counts(),
      skipped,
      figures: { requests, requests_per_s: 1_000 / REQUEST_INTERVAL_MS, outage_ms: OUTAGE_MS, registry_recovery_ms_median: recovery.median, registry_recovery_ms_max: recovery.max },
      inProcess: "",
    };
  },
};
