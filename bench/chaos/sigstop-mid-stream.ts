/**
 * sigstop-mid-stream: the worker serving a seeded stream is SIGSTOPped after
 * a random number of tokens (a hung process: its sockets stay open, nothing
 * comes out). The router's stall watch (--stall-timeout-ms, 1 s here) fails
 * the stream over and marks the worker stalled. Oracles, per run:
 *   - the stream completes equal to the undisturbed run (so the stopped
 *     worker, once continued, emitted nothing into the moved stream: a
 *     duplicate or late token would break the offsets or the tokens);
 *   - /v1/cluster shows the worker `stalled` while it is stopped, and two
 *     requests sent then are routed elsewhere and complete;
 *   - after SIGCONT the worker is routable again once it reports its load
 *     (`stalled` false and a newer load_measured_at), and it ends idle
 *     (GetLoad: the abandoned call's KV blocks were freed).
 * A stop that lands after the worker sent its finish (no failover) is
 * counted as `missed`, not as a pass. Detection time: from SIGSTOP to the first chunk after the stream's pause,
 * i.e. the stall timeout plus the replay's prefill on the new worker.
 */
import { createClient } from "@sigmaserve/client";
import { mulberry32 } from "../lib/mulberry32.js";
import type { ChaosProcess } from "./chaos-cluster.js";
import { awaitIdle, clusterView, failovers, servingWorker } from "./cluster-view.js";
import { RunTally, medianAndMax, sleep, within, type Scenario } from "./scenario.js";
import { differs, seededRequest, streamSeeded } from "./seeded-stream.js";
import { STALL_TIMEOUT_MS, liveWorkers } from "./stream-cluster.js";

const PROMPT_TOKENS = 24;
const MAX_TOKENS = 96;
const RUN_BOUND_MS = 60_000;
/** A worker continued after SIGCONT heartbeats every 2 s (DEFAULT_HEARTBEAT_INTERVAL_MS); this is the hang guard. */
const RECOVERY_BOUND_MS = 15_000;

/** The first arrival after the longest pause following `fromMs`: the replay's first chunk. */
function resumedAtMs(arrivals: { atMs: number }[], fromMs: number): number {
  let best = { gapMs: -1, atMs: Number.NaN };
  let previous = fromMs;
  for (const { atMs } of arrivals) {
    if (atMs < fromMs) continue;
    if (atMs - previous > best.gapMs) best = { gapMs: atMs - previous, atMs };
    previous = atMs;
  }
  return best.atMs;
}

export const sigstopMidStream: Scenario = {
  name: "sigstop-mid-stream",
  capMs: { full: 5 * 60_000, short: 25_000 },
  runs: (count, short) => (short ? 2 : Math.max(2, Math.ceil(count / 5))),
  async run(context) {
    const cluster = await context.streams.get();
    const router = cluster.routers[0]!;
    const client = createClient({ address: router.grpcAddress });
    const tally = new RunTally();
    const random = mulberry32(0x5709);
    const detectionMs: number[] = [];
    const recoveryMs: number[] = [];
    let skipped = 0;
    let missed = 0;
    try {
      for (let run = 0; run < context.runs; run++) {
        if (performance.now() > context.deadlineMs) {
          skipped = context.runs - run;
          break;
        }
        const request = seededRequest(2_000 + run, PROMPT_TOKENS, MAX_TOKENS);
        const stopAt = 1 + Math.floor(random() * (MAX_TOKENS / 2));
        let victim: ChaosProcess | undefined;
        const problem = await within(RUN_BOUND_MS, `run ${run}`, (async () => {
          const reference = await streamSeeded(client, request);
          if (differs(reference, reference) !== "") return `the reference run failed: ${differs(reference, reference)}`;
          const before = await failovers(router.httpAddress);
          let stoppedAtMs = -1;
          let stoppedAfter = -1;
          const got = await streamSeeded(client, request, async (tokens) => {
            if (victim === undefined) {
              const id = await servingWorker(router.httpAddress);
              victim = liveWorkers(cluster).find((w) => w.id === id);
            }
            if (victim !== undefined && stoppedAtMs < 0 && tokens >= stopAt) {
              victim.process.child.kill("SIGSTOP");
              stoppedAtMs = performance.now();
              stoppedAfter = tokens;
            }
          });
          if (victim === undefined) return "could not tell which worker served the stream";
          if (stoppedAtMs < 0) return `the stream ended (${got.tokenIds.length} tokens) before the stop point ${stopAt}`;
          const mismatch = differs(got, reference);
          if (mismatch !== "") return `stopped ${victim.id} after ${stoppedAfter} tokens: ${mismatch}`;
          // No failover: the worker had sent its finish before it was stopped (the client reads behind it).
          if (((await failovers(router.httpAddress))["replay"] ?? 0) === (before["replay"] ?? 0)) return "missed";
          detectionMs.push(resumedAtMs(got.arrivals, stoppedAtMs) - stoppedAtMs);
          // Still stopped: the router must show it stalled and route around it.
          const stalledView = (await clusterView(router.httpAddress)).workers.find((w) => w.id === victim!.id);
          if (stalledView?.stalled !== true) return `${victim.id} is stopped but /v1/cluster shows stalled=${stalledView?.stalled}`;
          const measuredBefore = stalledView.load_measured_at_unix_ms ?? 0;
          for (let i = 0; i < 2; i++) {
            const side = await streamSeeded(client, seededRequest(20_000 + run * 10 + i, 8, 4), undefined, 10_000);
            if (side.error !== undefined || side.finishReason !== "length") return `a request sent while ${victim.id} was stalled did not complete: ${String(side.error)}`;
          }
          const decisions = (await clusterView(router.httpAddress)).recent.decisions.slice(0, 2);
          if (decisions.some((d) => d.worker_id === victim!.id)) return `a request was routed to ${victim.id} while it was stalled`;
          // Continued: it must report its load before it is routable again, and hold nothing of the moved stream.
          victim.process.child.kill("SIGCONT");
          const continuedAtMs = performance.now();
          for (;;) {
            const view = (await clusterView(router.httpAddress)).workers.find((w) => w.id === victim!.id);
            if (view !== undefined && view.stalled === false) {
              if ((view.load_measured_at_unix_ms ?? 0) <= measuredBefore) return `${victim.id} became routable without a new load report`;
              break;
            }
            if (performance.now() - continuedAtMs > RECOVERY_BOUND_MS) return `${victim.id} still stalled ${RECOVERY_BOUND_MS} ms after SIGCONT`;
            await sleep(25);
          }
          recoveryMs.push(performance.now() - continuedAtMs);
          return await awaitIdle([victim.grpcAddress], 10_000);
        })()).catch((err: Error) => err.message);
        // Never leave a worker stopped, whatever happened.
        victim?.process.child.kill("SIGCONT");
        if (problem === "missed") {
          missed++;
          context.log(`  run ${run}: missed (the worker had sent its finish before the stop); not counted`);
          continue;
        }
        tally.record(`run ${run}`, problem);
        context.log(`  run ${run}: ${problem === "" ? "passed" : `FAILED: ${problem}`}`);
      }
      tally.endCheck("end: workers idle", await awaitIdle(liveWorkers(cluster).map((w) => w.grpcAddress), 10_000));
    } finally {
      client.close();
    }
    const detection = medianAndMax(detectionMs);
    const recovery = medianAndMax(recoveryMs);
    return {
      ...tally.counts(),
      skipped,
      figures: {
        missed_stops: missed,
        stall_timeout_ms: STALL_TIMEOUT_MS,
        detection_ms_median: detection.median,
        detection_ms_max: detection.max,
        sigcont_to_routable_ms_median: recovery.median,
        sigcont_to_routable_ms_max: recovery.max,
      },
      inProcess: "",
    };
  },
};
