/**
 * `npm run bench -- capacity [--device-mib 20] [--session-blocks 64] [--rounds 5] [--kv-dtype bf16] [--quick]`:
 * capacity, measured (issue 16, §6). With one fixed KV device budget, how many
 * concurrent long sessions a real worker process admits before the next one
 * waits, for sigma-tiny with K and V on the device (DiffQKV, full), its GQA
 * twin, and sigma-tiny in selective-V mode (V on the host tier, whose budget
 * is large enough that the device binds), next to what the capacity planner
 * (`sigmaserve kv plan`: planCapacity with the same budget, block size, dtype
 * and mode) predicts: its tokens, whole blocks, and the sessions those blocks
 * hold. Ratios: DiffQKV/GQA and selective-V/full, measured and predicted.
 *
 * The worker queues rather than refuses (see admission-round.ts for how a
 * round makes the count exact). Rounds alternate the three variants (each
 * worker started once and kept), at least 5 kept each; counts are
 * deterministic, so a round that differs from its variant's others is listed
 * in the row (`deviating_rounds`). A round in which not every session had
 * reached the worker before the first one finished is discarded, with that
 * reason. `--kv-dtype` goes to the workers when they have that flag (their
 * `--help` says); the dtype the planner is asked about is the one the worker
 * reports (GetInfo), checked against the size of its pools. The defaults (20
 * MiB, 1,024-token sessions) admit 16 / 10 / 40 sessions at bf16. `--quick`
 * is a 4 MiB budget and 512-token sessions (about a minute: each variant's
 * worker is started twice, a probe that reads its pools, then the measured one).
 */
import { parseArgs } from "node:util";
import type { KvDtype } from "@sigmaserve/kvcache";
import { createGrpcClient, workerv1 } from "@sigmaserve/proto";
import { alternatingRounds, discardedSummary, spreadText, withBest } from "../lib/alternating-rounds.js";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { startClusterProcess, type ClusterProcess } from "../lib/cluster-processes.js";
import { kvBlocks, runAdmissionRound, SESSION_MAX_TOKENS, type AdmissionRound, type WorkerClient } from "./admission-round.js";
import { pace, type Pacing, type WorkerPools } from "./admission-pacing.js";
import { CAPACITY_VARIANTS, VARIANT_SPECS, plannerFor, selectiveHostMib, workerFlags, type CapacityBudget, type CapacityVariant } from "./capacity-variants.js";
import { plannerDtype, workerHasKvDtypeFlag } from "./worker-kv-dtype.js";

const BLOCK_SIZE_TOKENS = 16;
/** The planner's dtypes (the worker's --kv-dtype takes the same names). */
const KV_DTYPES: readonly KvDtype[] = ["f32", "bf16", "f16"];
/** Sessions sent per round: this much over the planner's count, plus two, so a worker that admits more than predicted shows it. */
const OVERSEND = 1.25;
const ROUND_TIMEOUT_MS = 300_000;

interface Settings {
  deviceMib: number;
  sessionBlocks: number;
  rounds: number;
  requestedDtype: KvDtype;
}

function parseSettings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: { "device-mib": { type: "string" }, "session-blocks": { type: "string" }, rounds: { type: "string", default: "5" }, "kv-dtype": { type: "string", default: "bf16" }, quick: { type: "boolean", default: false } },
    strict: true,
  });
  const quick = values.quick === true;
  const number = (flag: string, raw: string | undefined, fallback: number) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${flag}: must be a positive number, got ${String(raw)}`);
    return value;
  };
  const dtype = values["kv-dtype"]!;
  if (!(KV_DTYPES as readonly string[]).includes(dtype)) throw new Error(`--kv-dtype: must be one of ${KV_DTYPES.join(", ")}, got ${dtype}`);
  return {
    deviceMib: number("device-mib", values["device-mib"], quick ? 4 : 20),
    sessionBlocks: Math.round(number("session-blocks", values["session-blocks"], quick ? 32 : 64)),
    rounds: Math.round(number("rounds", values.rounds, 5)),
    requestedDtype: dtype as KvDtype,
  };
}

interface VariantWorker {
  process: ClusterProcess;
  flags: string[];
  client: WorkerClient;
  modelId: string;
  dtype: KvDtype;
  pools: WorkerPools;
}

/** Starts a worker, asks it which model, which KV dtype and which pools it has. */
async function startVariantWorker(flags: string[]): Promise<VariantWorker> {
  const proc = await startClusterProcess("@sigmaserve/worker", flags, "worker listening");
  const client = createGrpcClient(workerv1.WorkerService, proc.ready["address"] as string);
  try {
    const info = (await client.getInfo({}, { timeoutMs: 10_000 })).info!;
    const load = (await client.getLoad({}, { timeoutMs: 10_000 })).load!;
    return { process: proc, flags, client, modelId: info.model!.id, dtype: plannerDtype(info.kvDtype), pools: { kDevice: kvBlocks(load, "k", "totalBlocks"), vDevice: kvBlocks(load, "v", "totalBlocks") } };
  } catch (err) {
    client.close();
    await proc.kill();
    throw err;
  }
}

export async function run(args: string[]): Promise<BenchResult> {
  const settings = parseSettings(args);
  const hasDtypeFlag = await workerHasKvDtypeFlag();
  // Without the flag the worker's default is in effect; host memory is sized for f32 (the widest), and the
  // planner is asked about the dtype the worker reports.
  const assumedDtype: KvDtype = hasDtypeFlag ? settings.requestedDtype : "f32";
  const budget: CapacityBudget = { deviceMib: settings.deviceMib, blockSizeTokens: BLOCK_SIZE_TOKENS, dtype: assumedDtype };
  const hostMib = selectiveHostMib(budget);
  const promptTokens = (settings.sessionBlocks - 1) * BLOCK_SIZE_TOKENS + 1;
  // Sized for the narrowest dtype, so the count sent exceeds what fits whatever the worker turns out to store.
  const narrowest: CapacityBudget = { ...budget, dtype: "bf16" };
  const sent = Object.fromEntries(
    CAPACITY_VARIANTS.map((v) => [v, Math.ceil((plannerFor(VARIANT_SPECS[v], narrowest, hostMib).blocks / settings.sessionBlocks) * OVERSEND) + 2]),
  ) as Record<CapacityVariant, number>;

  const workers = {} as Record<CapacityVariant, VariantWorker>;
  const pacing = {} as Record<CapacityVariant, Pacing>;
  try {
    for (const variant of CAPACITY_VARIANTS) {
      const spec = VARIANT_SPECS[variant];
      const dtypeFlag = hasDtypeFlag ? ["--kv-dtype", settings.requestedDtype] : [];
      // A probe start reads the pools the worker builds from the budget (and the dtype in effect); the
      // pacing follows from them, and the measured worker starts with it.
      const probe = await startVariantWorker(workerFlags(spec, budget, hostMib, dtypeFlag));
      const probed = probe.pools;
      probe.client.close();
      await probe.process.kill("SIGTERM");
      pacing[variant] = pace(probed, settings.sessionBlocks, spec.mode === "selective-v");
      if (pacing[variant].warning !== undefined) process.stderr.write(`capacity: ${variant}: ${pacing[variant].warning}\n`);
      const extra = [
        // `perStep` whole prompts a step (the running sessions' decodes come out of the rest); see admission-round.ts.
        "--max-batch-tokens",
        String(pacing[variant].perStep * promptTokens + sent[variant]),
        "--max-num-seqs",
        String(sent[variant]),
        ...dtypeFlag,
      ];
      workers[variant] = await startVariantWorker(workerFlags(spec, budget, hostMib, extra));
    }

    // The dtype the planner is asked about: the reported one, checked against the pools themselves. In full
    // mode the worker's pools hold exactly the planner's blocks, so a pool whose size only another dtype
    // explains means the report lags the pools (it was a constant once); the pools win, with a warning.
    for (const variant of CAPACITY_VARIANTS) {
      const w = workers[variant];
      const full = VARIANT_SPECS[variant].mode === "full" ? variant : "diffqkv-full";
      const implied = KV_DTYPES.find((d) => plannerFor(VARIANT_SPECS[full], { ...budget, dtype: d }, hostMib).blocks === workers[full].pools.kDevice);
      if (implied !== undefined && implied !== w.dtype) {
        process.stderr.write(`capacity: ${variant}: the worker reports KV dtype ${w.dtype} but its pools hold the blocks of ${implied}; planning for ${implied}\n`);
        w.dtype = implied;
      }
    }

    const details = Object.fromEntries(CAPACITY_VARIANTS.map((v) => [v, new Map<number, AdmissionRound>()])) as Record<CapacityVariant, Map<number, AdmissionRound>>;
    const stats = await alternatingRounds({
      variants: CAPACITY_VARIANTS,
      rounds: settings.rounds,
      // NOTE: an admission count does not depend on warm code (it is a count of blocks), so no warm-up round.
      warmupRounds: 0,
      measure: async (variant, round) => {
        const w = workers[variant];
        const result = await runAdmissionRound(w.client, { modelId: w.modelId, sessions: sent[variant], sessionBlocks: settings.sessionBlocks, blockSizeTokens: BLOCK_SIZE_TOKENS, seed: round * CAPACITY_VARIANTS.length + CAPACITY_VARIANTS.indexOf(variant) + 1, timeoutMs: ROUND_TIMEOUT_MS });
        details[variant].set(round, result);
        process.stderr.write(`capacity: round ${round} ${variant}: ${result.admitted} admitted of ${sent[variant]} sent (load report: ${result.loadRunningMax} running, ${result.loadWaitingAtMax} waiting, at most ${result.usedKDeviceBlocksMax} K blocks used; ${result.preemptions} preemptions)\n`);
        return result.admitted;
      },
      discard: (variant, round) => (details[variant].get(round)!.allArrivedBeforeFirstFinish ? undefined : "a session reached the worker after the first one finished"),
    });

    const rows: Row[] = [];
    const plans = {} as Record<CapacityVariant, ReturnType<typeof plannerFor>>;
    for (const variant of CAPACITY_VARIANTS) {
      const spec = VARIANT_SPECS[variant];
      const w = workers[variant];
      const plan = plannerFor(spec, { ...budget, dtype: w.dtype }, hostMib);
      plans[variant] = plan;
      const s = withBest(stats[variant], "higher");
      const kept = [...details[variant].entries()].filter(([, r]) => r.allArrivedBeforeFirstFinish);
      const deviating = kept.filter(([, r]) => r.admitted !== s.median).map(([round, r]) => `round ${round}: ${r.admitted}`);
      const keptRounds = kept.map(([, r]) => r);
      rows.push({
        variant,
        preset: spec.preset,
        mode: spec.mode,
        dtype: w.dtype,
        device_MiB: settings.deviceMib,
        host_MiB: spec.mode === "selective-v" ? hostMib : 0,
        session_tokens: settings.sessionBlocks * BLOCK_SIZE_TOKENS,
        planner_tokens: plan.tokens,
        planner_blocks: plan.blocks,
        planner_limited_by: plan.limitedBy,
        planner_sessions: Math.floor(plan.blocks / settings.sessionBlocks),
        worker_k_device_blocks: w.pools.kDevice,
        worker_v_device_blocks: w.pools.vDevice,
        sessions_per_step: pacing[variant].perStep,
        sent: sent[variant],
        admitted: s.median,
        admitted_spread: spreadText(s, 0),
        admitted_best: s.best,
        rounds: s.values.length,
        deviating_rounds: deviating.length === 0 ? "none" : deviating.join("; "),
        load_running_max: Math.max(...keptRounds.map((r) => r.loadRunningMax)),
        used_k_blocks_max: Math.max(...keptRounds.map((r) => r.usedKDeviceBlocksMax)),
        preemptions: keptRounds.reduce((sum, r) => sum + r.preemptions, 0),
        prefix_hits: keptRounds.reduce((sum, r) => sum + r.cacheHits, 0),
      });
    }
    const admitted = (v: CapacityVariant) => stats[v].median;
    const plannedSessions = (v: CapacityVariant) => Math.floor(plans[v].blocks / settings.sessionBlocks);
    const ratios: Record<string, number> = {
      diffqkv_vs_gqa_admitted: admitted("diffqkv-full") / admitted("gqa-full"),
      diffqkv_vs_gqa_planner_sessions: plannedSessions("diffqkv-full") / plannedSessions("gqa-full"),
      diffqkv_vs_gqa_planner_tokens: plans["diffqkv-full"].tokens / plans["gqa-full"].tokens,
      selective_v_vs_full_admitted: admitted("diffqkv-selective-v") / admitted("diffqkv-full"),
      selective_v_vs_full_planner_sessions: plannedSessions("diffqkv-selective-v") / plannedSessions("diffqkv-full"),
      selective_v_vs_full_planner_tokens: plans["diffqkv-selective-v"].tokens / plans["diffqkv-full"].tokens,
    };
    for (const variant of CAPACITY_VARIANTS) ratios[`${variant}_admitted_vs_planner_sessions`] = admitted(variant) / plannedSessions(variant);
    const discarded = discardedSummary(stats);
    process.stderr.write(`capacity: discarded rounds: ${discarded.length === 0 ? "none" : discarded.join("; ")}\n`);
    process.stderr.write(`capacity: KV dtype ${workers["diffqkv-full"].dtype} (${hasDtypeFlag ? `--kv-dtype ${settings.requestedDtype} passed` : "the worker has no --kv-dtype flag: its default"})\n`);

    return {
      name: "capacity",
      config: {
        deviceMib: settings.deviceMib,
        selectiveHostMib: hostMib,
        blockSizeTokens: BLOCK_SIZE_TOKENS,
        sessionBlocks: settings.sessionBlocks,
        promptTokens,
        sessionMaxTokens: SESSION_MAX_TOKENS,
        rounds: settings.rounds,
        dtype: { inEffect: workers["diffqkv-full"].dtype, flagPassed: hasDtypeFlag ? settings.requestedDtype : null },
        sentPerRound: sent,
        workerFlags: Object.fromEntries(CAPACITY_VARIANTS.map((v) => [v, workers[v].flags])),
        method: "all sessions sent at once, admitted a few whole prompts per step; admitted = prompt computed and first token out before any session finished (no session takes a new block during that time); cross-checked with the worker's load report",
        discarded,
      },
      rows,
      ratios,
    };
  } finally {
    for (const w of Object.values(workers)) {
      w.client.close();
      await w.process.kill("SIGTERM");
    }
  }
}
