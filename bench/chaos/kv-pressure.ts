/**
 * kv-pressure: two workers with a tiny KV pool (--kv-device-mib) and a router
 * with low admission limits (--max-in-flight, --max-queued), hit by long
 * prompts at high concurrency, half over gRPC (the SDK) and half over HTTP
 * (/v1/completions). Oracles, per run (a gRPC burst, then an HTTP burst):
 *   - what the router cannot queue is refused: RESOURCE_EXHAUSTED
 *     (RateLimitedError) over gRPC, 429 with a Retry-After header over HTTP;
 *     no other failure is allowed;
 *   - every admitted request completes equal to its reference (the same
 *     seeded request run alone beforehand): the workers preempt and
 *     recompute under KV pressure, which must not change a token;
 *   - nothing deadlocks: the burst settles within a bound (a hang guard);
 *   - afterwards both workers are idle: GetLoad shows nothing running or
 *     waiting and no KV block used.
 * Figures: refusals per protocol, preemptions (GetLoad's preemptions_total).
 */
import { RateLimitedError, createClient } from "@sigmaserve/client";
import { startChaosCluster } from "./chaos-cluster.js";
import { awaitIdle, workerIdleness } from "./cluster-view.js";
import { RunTally, within, type Scenario } from "./scenario.js";
import { MODEL, describeError, differs, seededRequest, streamSeeded, type StreamOutcome } from "./seeded-stream.js";

const KV_DEVICE_MIB = process.env["CHAOS_KV_MIB"] ?? "0.5";
const MAX_IN_FLIGHT = 4;
const MAX_QUEUED = 4;
const PROMPT_TOKENS = 40;
const MAX_TOKENS = 120;
/** Requests per burst and protocol. */
const BURST = 10;
const SETTLE_BOUND_MS = 90_000;

interface HttpOutcome {
  status: number;
  retryAfter: string | null;
  text: string;
  finishReason: string | undefined;
}

async function httpCompletion(routerHttp: string, seed: number): Promise<HttpOutcome> {
  const request = seededRequest(seed, PROMPT_TOKENS, MAX_TOKENS);
  const response = await fetch(`http://${routerHttp}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, prompt: request.prompt, max_tokens: MAX_TOKENS, temperature: request.temperature, seed, ignore_eos: true }),
  });
  const body = (await response.json()) as { choices?: { text: string; finish_reason: string }[] };
  return { status: response.status, retryAfter: response.headers.get("retry-after"), text: body.choices?.[0]?.text ?? "", finishReason: body.choices?.[0]?.finish_reason };
}

export const kvPressure: Scenario = {
  name: "kv-pressure",
  capMs: { full: 4 * 60_000, short: 30_000 },
  runs: (count, short) => (short ? 1 : Math.max(2, Math.ceil(count / 20))),
  async run(context) {
    const cluster = await startChaosCluster({
      workers: 2,
      workerFlags: ["--kv-device-mib", KV_DEVICE_MIB],
      routerFlags: ["--max-in-flight", String(MAX_IN_FLIGHT), "--max-queued", String(MAX_QUEUED)],
    });
    const router = cluster.routers[0]!;
    const client = createClient({ address: router.grpcAddress, retry: { maxAttempts: 1 } });
    const tally = new RunTally();
    const refused = { grpc: 0, http: 0 };
    const admitted = { grpc: 0, http: 0 };
    let skipped = 0;
    try {
      for (let run = 0; run < context.runs; run++) {
        if (performance.now() > context.deadlineMs) {
          skipped = context.runs - run;
          break;
        }
        const seeds = Array.from({ length: BURST }, (_, i) => 6_000 + run * 100 + i);
        const problem = await within(SETTLE_BOUND_MS, `run ${run}`, (async () => {
          // References one at a time: no pressure, no refusal.
          const references = new Map<number, StreamOutcome>();
          for (const seed of seeds) {
            const reference = await streamSeeded(client, seededRequest(seed, PROMPT_TOKENS, MAX_TOKENS));
            if (differs(reference, reference) !== "") return `the reference run of seed ${seed} failed: ${differs(reference, reference)}`;
            references.set(seed, reference);
          }
          const problems: string[] = [];
          // One burst per door, so each meets the full router (mixed, the gRPC calls arrive first and take every slot).
          await Promise.all(seeds.map((seed) =>
            (async () => {
              const got = await streamSeeded(client, seededRequest(seed, PROMPT_TOKENS, MAX_TOKENS), undefined, SETTLE_BOUND_MS);
              if (got.error instanceof RateLimitedError && got.tokenIds.length === 0) return void refused.grpc++;
              admitted.grpc++;
              const mismatch = differs(got, references.get(seed)!);
              if (mismatch !== "") problems.push(`gRPC seed ${seed}: ${got.error === undefined ? mismatch : describeError(got.error)}`);
            })(),
          ));
          await Promise.all(seeds.map((seed) =>
            (async () => {
              const got = await httpCompletion(router.httpAddress, seed);
              if (got.status === 429) {
                refused.http++;
                if (got.retryAfter === null) problems.push(`HTTP seed ${seed}: 429 without Retry-After`);
                return;
              }
              admitted.http++;
              if (got.status !== 200) problems.push(`HTTP seed ${seed}: status ${got.status}`);
              else if (got.finishReason !== "length" || got.text !== references.get(seed)!.text) problems.push(`HTTP seed ${seed}: ${got.finishReason} ${JSON.stringify(got.text)} differs from the reference ${JSON.stringify(references.get(seed)!.text)}`);
            })(),
          ));
          if (problems.length > 0) return problems.slice(0, 3).join("; ");
          return await awaitIdle(cluster.workers.map((w) => w.grpcAddress), 10_000);
        })()).catch((err: Error) => err.message);
        tally.record(`run ${run}`, problem);
        context.log(`  run ${run}: ${problem === "" ? "passed" : `FAILED: ${problem}`} (refused so far: ${refused.grpc} gRPC, ${refused.http} HTTP)`);
      }
      tally.endCheck("end: some requests refused", refused.grpc + refused.http > 0 ? "" : "no request was refused: the burst did not reach the admission limits");
      const loads = await Promise.all(cluster.workers.map((w) => workerIdleness(w.grpcAddress)));
      const preemptions = loads.reduce((sum, l) => sum + l.preemptions, 0);
      return {
        ...tally.counts(),
        skipped,
        figures: {
          kv_device_mib: Number(KV_DEVICE_MIB),
          burst_per_protocol: BURST,
          refused_grpc_resource_exhausted: refused.grpc,
          refused_http_429: refused.http,
          admitted_grpc: admitted.grpc,
          admitted_http: admitted.http,
          preemptions,
          device_blocks_per_worker: loads[0]?.deviceBlocks ?? 0,
        },
        inProcess: "",
      };
    } finally {
      client.close();
      await cluster.stop();
    }
  },
};
