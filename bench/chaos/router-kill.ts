/**
 * router-kill: the SDK streams through a router that is SIGKILLed mid-stream
 * (two routers on the same NATS, the SDK pointed at the first). What the SDK
 * does is recorded, not assumed: the router does failover between workers,
 * the client does not resume a stream mid-way (retry.ts: Generate retries
 * only before the first message), so the iteration is expected to reject
 * with a typed SigmaserveError; a stream that went on would be recorded as a
 * resume. Oracles, per run:
 *   - killed mid-stream: the iteration ends within a bound with a
 *     SigmaserveError (its class and status go in the row), the tokens it
 *     yielded before are a prefix of the reference, and the workers end idle
 *     (the router's calls to them were cancelled with its connections);
 *   - while the router is down, the same request through the second router
 *     succeeds, equal to the reference;
 *   - a call started while the router is down, with a retry policy, succeeds
 *     once the router is restarted on the same port (UNAVAILABLE before the
 *     first token is retried), equal to the reference.
 */
import { SigmaserveError, createClient } from "@sigmaserve/client";
import { mulberry32 } from "../lib/mulberry32.js";
import type { ChaosProcess } from "./chaos-cluster.js";
import { awaitIdle } from "./cluster-view.js";
import { RunTally, medianAndMax, sleep, within, type Scenario } from "./scenario.js";
import { describeError, differs, seededRequest, streamSeeded } from "./seeded-stream.js";
import { liveWorkers } from "./stream-cluster.js";

const PROMPT_TOKENS = 24;
const MAX_TOKENS = 96;
/** How long the router stays down before it is restarted, while a retrying call waits. */
const DOWN_MS = 300;
/** Enough attempts to outlast a router restart (about 1-3 s here) whatever the jitter draws. */
const RETRY = { maxAttempts: 30, initialBackoffMs: 100, maxBackoffMs: 500 };
const ERROR_BOUND_MS = 10_000;

const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1);

export const routerKill: Scenario = {
  name: "router-kill",
  capMs: { full: 3 * 60_000, short: 25_000 },
  runs: (count, short) => (short ? 2 : Math.max(2, Math.ceil(count / 10))),
  async run(context) {
    const cluster = await context.streams.get();
    const second = cluster.routers[1] ?? (await cluster.addRouter());
    const viaSecond = createClient({ address: second.grpcAddress });
    const tally = new RunTally();
    const random = mulberry32(0x2074);
    const errors = new Map<string, number>();
    const errorAfterKillMs: number[] = [];
    const retriedCallMs: number[] = [];
    let resumed = 0;
    let exampleMessage = "";
    let skipped = 0;
    try {
      for (let run = 0; run < context.runs; run++) {
        if (performance.now() > context.deadlineMs) {
          skipped = context.runs - run;
          break;
        }
        const request = seededRequest(4_000 + run, PROMPT_TOKENS, MAX_TOKENS);
        const killAt = 1 + Math.floor(random() * (MAX_TOKENS / 2));
        const problem = await within(60_000, `run ${run}`, (async () => {
          const first = cluster.routers[0]!;
          const reference = await streamSeeded(viaSecond, request);
          if (differs(reference, reference) !== "") return `the reference run failed: ${differs(reference, reference)}`;
          // 1. Killed mid-stream.
          const client = createClient({ address: first.grpcAddress });
          let killedAtMs = -1;
          const got = await streamSeeded(client, request, (tokens) => {
            if (killedAtMs < 0 && tokens >= killAt) {
              first.process.child.kill("SIGKILL");
              killedAtMs = performance.now();
            }
          }, ERROR_BOUND_MS + 5_000);
          client.close();
          await first.process.kill("SIGKILL");
          cluster.routers.splice(cluster.routers.indexOf(first), 1);
          if (killedAtMs < 0) return `the stream ended (${got.tokenIds.length} tokens) before the kill point ${killAt}`;
          errorAfterKillMs.push(got.arrivals.length === 0 ? Number.NaN : performance.now() - killedAtMs);
          const prefix = reference.tokenIds.slice(0, got.tokenIds.length);
          if (got.tokenIds.some((id, i) => id !== prefix[i])) return "the tokens before the kill are not a prefix of the reference";
          if (got.error === undefined) {
            resumed++;
            return `the stream did not fail when its router died (${got.tokenIds.length} tokens, finish ${got.finishReason}): recorded as a resume`;
          }
          const kind = got.error instanceof SigmaserveError ? `${got.error.name}(${got.error.code})` : describeError(got.error);
          errors.set(kind, (errors.get(kind) ?? 0) + 1);
          if (exampleMessage === "") exampleMessage = (got.error as Error).message;
          if (!(got.error instanceof SigmaserveError)) return `the SDK threw an untyped error: ${kind}`;
          // 2. The second router serves the same request meanwhile.
          const other = differs(await streamSeeded(viaSecond, request), reference);
          if (other !== "") return `through the second router while the first is down: ${other}`;
          // 3. A call started while the first router is down succeeds once it is back on the same port.
          const retrying = createClient({ address: first.grpcAddress, retry: RETRY });
          const callStarted = performance.now();
          const call = streamSeeded(retrying, request, undefined, 30_000);
          await sleep(DOWN_MS);
          let restarted: ChaosProcess;
          try {
            restarted = await cluster.addRouter(["--grpc-port", portOf(first.grpcAddress), "--http-port", portOf(first.httpAddress)]);
          } finally {
            void call.finally(() => retrying.close());
          }
          cluster.routers.unshift(cluster.routers.splice(cluster.routers.indexOf(restarted), 1)[0]!);
          const retried = await call;
          retriedCallMs.push(performance.now() - callStarted);
          const mismatch = differs(retried, reference);
          if (mismatch !== "") return `the call started while the router was down: ${mismatch}`;
          return await awaitIdle(liveWorkers(cluster).map((w) => w.grpcAddress), 10_000);
        })()).catch((err: Error) => err.message);
        tally.record(`run ${run}`, problem);
        context.log(`  run ${run}: ${problem === "" ? "passed" : `FAILED: ${problem}`}`);
      }
    } finally {
      viaSecond.close();
    }
    const errorMs = medianAndMax(errorAfterKillMs);
    const retried = medianAndMax(retriedCallMs);
    return {
      ...tally.counts(),
      skipped,
      figures: {
        sdk_error_on_router_kill: [...errors].map(([kind, n]) => `${kind} x${n}`).join(", "),
        sdk_error_message: exampleMessage,
        sdk_resumed_mid_stream: resumed,
        kill_to_sdk_error_ms_median: errorMs.median,
        kill_to_sdk_error_ms_max: errorMs.max,
        retried_call_ms_median: retried.median,
        retried_call_ms_max: retried.max,
      },
      inProcess: "",
    };
  },
};
