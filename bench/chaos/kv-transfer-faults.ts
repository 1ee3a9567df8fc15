/**
 * kv-transfer-faults: a KV migration whose frame is corrupted on the wire,
 * and one dropped mid-way, between two workers.
 *
 * IN-PROCESS: no real process can corrupt a frame by itself, so the two
 * workers here are worker runtimes (@sigmaserve/worker-runtime's startWorker)
 * inside the bench process. Everything between them is real: each connects
 * to a real nats-server (offer, reply and done go over NATS), and the bytes
 * go over real gRPC on loopback (ExportKv). The faults go in through the
 * runtime's test hooks: `onMigrationFrame` flips one byte of one block's
 * payload as the target receives a frame (before its per-block checksums
 * are verified); `onExportFrame` throws on the source after the K frames went
 * out and before the first V frame (the export is cut mid-way); the last run
 * kills the source there instead (runtime.kill()). Oracles, per run:
 *   - corrupt: the migration completes with exactly 1 block refused (the
 *     target's own stats agree), the target pins nothing for it, and a
 *     seeded request served on the target afterwards equals the source's run
 *     of it, with the prompt cached only up to the corrupted block;
 *   - dropped / killed: the pull is counted failed, the target's pool usage
 *     is back where it was, no block of the chain is held, and the same
 *     seeded request on the target equals the source's, computed cold.
 */
import { KV_FRAME_HEADER_BYTES, KV_FRAME_TABLE_CRC_BYTES, KV_FRAME_TABLE_ENTRY_BYTES, readKvFrameHeader } from "@sigmaserve/kvcache";
import { createGrpcClient, workerv1, type ServiceClient } from "@sigmaserve/proto";
import { loadWorkerConfig, startWorker, type StartWorkerOptions, type WorkerRuntime } from "@sigmaserve/worker-runtime";
import { createRestartableNatsServer } from "@sigmaserve/testkit";
import { mulberry32 } from "../lib/mulberry32.js";
import { RunTally, within, type Scenario } from "./scenario.js";
import { CHAOS_TEMPERATURE, MODEL } from "./seeded-stream.js";

const BLOCK_TOKENS = 4;
/** 9 full blocks of 4 tokens and one token more. */
const PROMPT_TOKENS = 37;
const MAX_TOKENS = 8;

type Logger = Parameters<typeof startWorker>[1];
/** A logger that drops everything (the bench has no pino of its own); `child` returns itself. */
const silentLogger: Logger = new Proxy({} as Record<string | symbol, unknown>, {
  get: (_target, key) => (key === "child" ? () => silentLogger : key === "level" ? "silent" : key === "isLevelEnabled" ? () => false : () => {}),
}) as unknown as Logger;

interface InProcessWorker {
  runtime: WorkerRuntime;
  client: ServiceClient<typeof workerv1.WorkerService>;
}

async function startInProcessWorker(id: string, natsUrl: string, options: StartWorkerOptions): Promise<InProcessWorker> {
  const config = loadWorkerConfig(["--preset", MODEL, "--worker-id", id, "--port", "0", "--nats", natsUrl, "--block-size", String(BLOCK_TOKENS)], {});
  const runtime = await startWorker(config, silentLogger, options);
  return { runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address) };
}

/** A seeded request on a worker: its tokens and how many prompt tokens came from the cache. */
async function generateOn(worker: InProcessWorker, requestId: string, prompt: number[], seed: number): Promise<{ tokens: number[]; cached: number }> {
  const tokens: number[] = [];
  let cached = -1;
  const sampling = { temperature: CHAOS_TEMPERATURE, maxTokens: MAX_TOKENS, ignoreEos: true, seed: BigInt(seed) };
  for await (const m of worker.client.generate({ requestId, model: MODEL, promptTokenIds: prompt, sampling }, { timeoutMs: 30_000 })) {
    if (m.event.case === "chunk") tokens.push(...m.event.value.tokenIds);
    else if (m.event.case === "finish") cached = m.event.value.usage?.cachedPromptTokens ?? 0;
  }
  return { tokens, cached };
}

const pinned = (w: InProcessWorker) => w.runtime.kv.usage().reduce((sum, u) => sum + u.usedBlocks, 0);
const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

type Fault = { kind: "corrupt"; component: "k" | "v"; block: number } | { kind: "drop" } | { kind: "kill" };

export const kvTransferFaults: Scenario = {
  name: "kv-transfer-faults",
  capMs: { full: 3 * 60_000, short: 20_000 },
  runs: (count, short) => (short ? 3 : Math.max(3, Math.ceil(count / 5))),
  async run(context) {
    const nats = await createRestartableNatsServer();
    await nats.start();
    const tally = new RunTally();
    const random = mulberry32(0x6b76);
    let fault: Fault | undefined;
    let corrupted = false;
    let refusedBlocks = 0;
    let detected = 0;
    let injected = 0;
    let skipped = 0;
    const started: InProcessWorker[] = [];
    let source: InProcessWorker | undefined;
    const startSource = async () => {
      const worker: InProcessWorker = await startInProcessWorker(`kv-src-${started.length}`, nats.url, {
        onExportFrame: (frame) => {
          if (frame.component !== "v") return;
          if (fault?.kind === "drop") throw new Error("chaos: the export is cut after its K frames");
          if (fault?.kind === "kill") void worker.runtime.kill();
        },
      });
      started.push(worker);
      return worker;
    };
    try {
      const target = await startInProcessWorker("kv-dst", nats.url, {
        onMigrationFrame: (payload) => {
          if (fault?.kind !== "corrupt" || corrupted) return;
          const header = readKvFrameHeader(payload);
          if (header.component !== fault.component || fault.block >= header.blockCount) return;
          corrupted = true;
          const payloadStart = KV_FRAME_HEADER_BYTES + header.blockCount * KV_FRAME_TABLE_ENTRY_BYTES + KV_FRAME_TABLE_CRC_BYTES;
          payload[payloadStart + fault.block * header.payloadBytesPerBlock + 17]! ^= 0x20;
        },
      });
      started.push(target);
      source = await startSource();
      for (let run = 0; run < context.runs; run++) {
        if (performance.now() > context.deadlineMs) {
          skipped = context.runs - run;
          break;
        }
        const last = run === context.runs - 1;
        const seed = 5_000 + run;
        const prompt = Array.from({ length: PROMPT_TOKENS }, () => 1 + Math.floor(random() * 250));
        const chainBlocks = Math.floor(PROMPT_TOKENS / BLOCK_TOKENS);
        fault = last ? { kind: "kill" } : run % 2 === 0 ? { kind: "corrupt", component: random() < 0.5 ? "k" : "v", block: Math.floor(random() * chainBlocks) } : { kind: "drop" };
        corrupted = false;
        const label = `run ${run} (${fault.kind === "corrupt" ? `corrupt ${fault.component} block ${fault.block}` : fault.kind === "drop" ? "export cut after K" : "source killed after K"})`;
        const src = source!;
        const problem = await within(60_000, label, (async () => {
          const reference = await generateOn(src, `ref-${run}`, prompt, seed);
          const chain = src.runtime.kv.promptBlockHashes(prompt);
          const stats = { ...target.runtime.migration!.target.stats };
          const pinnedBefore = pinned(target);
          injected++;
          const outcome = await src.runtime.migration!.source.offer("kv-dst", chain);
          await target.runtime.migration!.target.idle();
          const now = target.runtime.migration!.target.stats;
          const after = await generateOn(target, `after-${run}`, prompt, seed);
          if (!same(after.tokens, reference.tokens)) return `the target's output [${after.tokens.join(",")}] differs from the reference [${reference.tokens.join(",")}]`;
          if (pinned(target) !== pinnedBefore) return `the target pins ${pinned(target)} blocks, ${pinnedBefore} before`;
          if (fault!.kind === "corrupt") {
            if (!corrupted) return "no frame was corrupted (the hook never matched)";
            if (outcome.kind !== "done") return `the migration did not complete: ${JSON.stringify(outcome)}`;
            const refused = now.blocksRefused - stats.blocksRefused;
            refusedBlocks += refused;
            if (outcome.done.blocksRefused !== 1 || refused !== 1) return `blocks refused: ${outcome.done.blocksRefused} in done, ${refused} in the target's stats, expected 1`;
            if (after.cached !== fault!.block * BLOCK_TOKENS) return `${after.cached} prompt tokens cached, expected ${fault!.block * BLOCK_TOKENS} (up to the corrupted block)`;
          } else {
            if (outcome.kind === "done" && outcome.done.error === "") return `the cut migration reported done without an error: ${JSON.stringify(outcome.done)}`;
            if (now.pullsFailed - stats.pullsFailed !== 1) return `pulls failed: ${now.pullsFailed - stats.pullsFailed}, expected 1`;
            if (after.cached !== 0) return `${after.cached} prompt tokens cached after a failed pull, expected 0 (no half block may be registered)`;
          }
          detected++;
          return "";
        })()).catch((err: Error) => err.message);
        tally.record(label, problem);
        context.log(`  ${label}: ${problem === "" ? "passed" : `FAILED: ${problem}`}`);
        if (fault.kind === "kill" && !last) source = await startSource();
      }
      const leftover = pinned(target);
      tally.endCheck("end: target idle", leftover === 0 ? "" : `the target pins ${leftover} KV blocks`);
    } finally {
      fault = undefined;
      for (const worker of started) {
        worker.client.close();
        await worker.runtime.stop().catch(() => {});
      }
      await nats.dispose();
    }
    return {
      ...tally.counts(),
      skipped,
      figures: { faults_injected: injected, faults_detected: detected, corrupt_blocks_refused: refusedBlocks },
      inProcess: "two worker runtimes in the bench process (real nats-server, real gRPC between them); faults via their test hooks",
    };
  },
};
