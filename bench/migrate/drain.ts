/**
 * Part 3: draining a worker that holds N hot prefixes, with migration and
 * without, on the demo model: three workers and a kv_aware router; worker 0
 * computes every tenant's prefix; requests for the tenants keep flowing
 * through the router (a Poisson stream) while worker 0 drains; then each
 * tenant asks once more through the router. Reported: time from the drain
 * command to DRAINED, failed requests, and the prefix hit rate of the
 * requests after the drain, with migration against without.
 */
import { createGrpcClient, inferencev1, workerv1 } from "@sigmaserve/proto";
import { mulberry32 } from "../lib/mulberry32.js";
import { runOnWorker, startBenchWorkers } from "./bench-workers.js";

export interface DrainRun {
  migrate: boolean;
  tenants: number;
  drainMs: number;
  requestsDuring: number;
  failedDuring: number;
  hitRateAfter: number;
}

export async function measureDrain(options: { tenants: number; prefixTokens: number; migrate: boolean }): Promise<DrainRun> {
  const workers = await startBenchWorkers({ workers: 3, policy: "kv_aware", workerFlags: ["--block-size", "16", "--kv-device-mib", "64"] });
  const router = createGrpcClient(inferencev1.InferenceService, workers.cluster.routerAddress);
  const random = mulberry32(5);
  const prefixes = Array.from({ length: options.tenants }, () => Array.from({ length: options.prefixTokens }, () => Math.floor(random() * 256)));
  const ask = async (tenant: number): Promise<{ prompt: number; cached: number }> => {
    let usage = { prompt: 0, cached: 0 };
    const prompt = [...prefixes[tenant]!, ...Array.from({ length: 16 }, () => Math.floor(random() * 256))];
    for await (const m of router.generate({ model: "sigma-tiny", prompt: { case: "tokenIds", value: { ids: prompt } }, sampling: { maxTokens: 8, temperature: 0, ignoreEos: true } }, { timeoutMs: 30_000 })) {
      if (m.event.case === "finish") {
        if (m.event.value.finishReason === inferencev1.FinishReason.ERROR) throw new Error(m.event.value.errorMessage);
        usage = { prompt: m.event.value.usage?.promptTokens ?? 0, cached: m.event.value.usage?.cachedPromptTokens ?? 0 };
      }
    }
    return usage;
  };
  try {
    for (const [t, prefix] of prefixes.entries()) await runOnWorker(workers.clients[0]!, `fill-${t}`, "sigma-tiny", [...prefix, 1]);
    // Wait until the router has seen all three workers.
    const models = async () => (await router.listModels({})).models[0]?.readyWorkers ?? 0;
    while ((await models()) < 3) await new Promise((r) => setTimeout(r, 50));
    let running = true;
    let sent = 0;
    let failed = 0;
    const traffic = (async () => {
      const inFlight: Promise<void>[] = [];
      while (running) {
        sent++;
        inFlight.push(ask(Math.floor(random() * options.tenants)).then(() => undefined, () => void failed++));
        await new Promise((r) => setTimeout(r, -Math.log(1 - random()) * 50)); // 20 req/s
      }
      await Promise.all(inFlight);
    })();
    await new Promise((r) => setTimeout(r, 500));
    const started = performance.now();
    const drained = createGrpcClient(workerv1.WorkerService, workers.cluster.workerAddresses[0]!);
    await drained.drain({ command: { requesterId: "bench", migrate: options.migrate } });
    while ((await drained.getLoad({})).load!.state !== 4 /* DRAINED */) await new Promise((r) => setTimeout(r, 10));
    const drainMs = performance.now() - started;
    drained.close();
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await traffic;
    // The router must have seen the drain before the after-requests.
    while ((await models()) > 2) await new Promise((r) => setTimeout(r, 50));
    let prompt = 0;
    let cached = 0;
    for (let t = 0; t < options.tenants; t++) {
      const usage = await ask(t);
      prompt += usage.prompt;
      cached += usage.cached;
    }
    const run = { migrate: options.migrate, tenants: options.tenants, drainMs, requestsDuring: sent, failedDuring: failed, hitRateAfter: cached / prompt };
    process.stderr.write(`migrate: drain ${options.migrate ? "with" : "without"} migration: ${drainMs.toFixed(0)} ms, ${failed}/${sent} failed during, hit rate after ${run.hitRateAfter.toFixed(3)}\n`);
    return run;
  } finally {
    router.close();
    await workers.stop();
  }
}
