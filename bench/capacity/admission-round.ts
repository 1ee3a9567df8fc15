/**
 * One capacity round on one worker: how many long sessions it runs at once
 * before the next one has to wait.
 *
 * How the worker admits (worker-runtime's StepScheduler): it never refuses for
 * KV room; a request that does not fit waits in its queue, and admission is
 * in arrival order while `kv.allocate` finds room for the prompt's chunk in
 * the step's token budget. A waiting request starts only when blocks are
 * freed: a session finishes, or one is preempted because a running one grew
 * into a new block.
 *
 * So the round makes the count exact and independent of timing: every session
 * is `sessionBlocks` blocks from its first step to its last (a prompt of
 * (sessionBlocks - 1)·block + 1 tokens and SESSION_MAX_TOKENS more tokens,
 * which end exactly at sessionBlocks·block: no session ever takes a new
 * block), all of them are sent at once, more than fit, the worker's budget
 * admits a few whole prompts a step (admission-pacing.ts: all that fit are in
 * before the first session's last decode), and the admitted ones are those
 * whose first token arrives before any session finishes. Read from the
 * worker's side too: its load report (GetLoad, polled) shows the sessions
 * running, the rest waiting, and the used K blocks. A prompt that got a
 * partial chunk next to the whole ones and then finds no room for the rest
 * counts as running in a load report and is preempted (it never produced a
 * token, so it is not counted); that is the only preemption a round has.
 * After the first finish the round cancels every stream and waits until the
 * worker is idle.
 */
import { inferencev1, kvv1, type ServiceClient, type workerv1 } from "@sigmaserve/proto";
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { mulberry32 } from "../lib/mulberry32.js";

export type WorkerClient = ServiceClient<typeof workerv1.WorkerService>;

/** Tokens a session generates; with the prompt's length they end on a block boundary (a block holds at least this many). */
export const SESSION_MAX_TOKENS = 16;
/** How often the round reads the worker's load report, ms (answered between engine steps). */
const LOAD_POLL_MS = 5;
/** Bound on the wait for the worker to be idle again after a round, ms (a hang guard, not a measurement). */
const IDLE_TIMEOUT_MS = 120_000;

export interface AdmissionRoundOptions {
  modelId: string;
  /** Sessions sent at once (more than the worker should admit). */
  sessions: number;
  sessionBlocks: number;
  blockSizeTokens: number;
  /** Seeds the prompts: distinct per round and session, so nothing is served from the prefix cache. */
  seed: number;
  /** Hang guard per round, ms. */
  timeoutMs: number;
}

export interface AdmissionRound {
  /** Sessions whose first token arrived before any session finished: the ones running at once. */
  admitted: number;
  /** The most sessions the load report showed running, and the waiting count of that report. */
  loadRunningMax: number;
  loadWaitingAtMax: number;
  /** The most device K blocks a load report showed in use before the first finish. */
  usedKDeviceBlocksMax: number;
  /** Whether a load report showed every session arrived (running + waiting = sessions) before the first finish. */
  allArrivedBeforeFirstFinish: boolean;
  /** Preemptions on the worker during the round (only a partially admitted prompt that found no room for its rest). */
  preemptions: number;
  /** Sessions whose prompt hit the prefix cache (0: prompts are distinct). */
  cacheHits: number;
}

/** Blocks of a component on the device tier in a load report: used, or the pool's total. */
export function kvBlocks(load: { kvUsage: { component: kvv1.KvComponent; tier: kvv1.KvTier; usedBlocks: number; totalBlocks: number }[] }, component: "k" | "v", field: "usedBlocks" | "totalBlocks"): number {
  const wanted = component === "k" ? kvv1.KvComponent.K : kvv1.KvComponent.V;
  return load.kvUsage.find((u) => u.component === wanted && u.tier === kvv1.KvTier.DEVICE)?.[field] ?? 0;
}

export async function runAdmissionRound(client: WorkerClient, options: AdmissionRoundOptions): Promise<AdmissionRound> {
  const promptTokens = (options.sessionBlocks - 1) * options.blockSizeTokens + 1;
  if (SESSION_MAX_TOKENS > options.blockSizeTokens) throw new RangeError(`a block of ${options.blockSizeTokens} tokens cannot hold a session's ${SESSION_MAX_TOKENS} generated tokens`);
  const before = (await client.getLoad({}, { timeoutMs: 10_000 })).load!;
  const abort = new AbortController();
  // Every session's stream listens on the one signal.
  setMaxListeners(options.sessions + 10, abort.signal);
  const guard = setTimeout(() => abort.abort(new Error(`round exceeded ${options.timeoutMs} ms`)), options.timeoutMs);
  let firstFinishSeen = false;
  let admitted = 0;
  let cacheHits = 0;
  const stats = { loadRunningMax: 0, loadWaitingAtMax: 0, usedKDeviceBlocksMax: 0, allArrived: false };

  const poller = (async () => {
    while (!firstFinishSeen && !abort.signal.aborted) {
      const load = (await client.getLoad({}, { timeoutMs: 10_000 })).load!;
      if (firstFinishSeen) break;
      if (load.runningRequests + load.waitingRequests === options.sessions) stats.allArrived = true;
      if (load.runningRequests > stats.loadRunningMax) {
        stats.loadRunningMax = load.runningRequests;
        stats.loadWaitingAtMax = load.waitingRequests;
      }
      stats.usedKDeviceBlocksMax = Math.max(stats.usedKDeviceBlocksMax, kvBlocks(load, "k", "usedBlocks"));
      await sleep(LOAD_POLL_MS);
    }
  })();

  const session = async (index: number) => {
    const random = mulberry32(options.seed * 100_003 + index);
    const prompt = Array.from({ length: promptTokens }, () => Math.floor(random() * 256));
    let first = true;
    try {
      const stream = client.generate(
        { requestId: `capacity-${options.seed}-${index}`, model: options.modelId, promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: SESSION_MAX_TOKENS, ignoreEos: true } },
        { signal: abort.signal },
      );
      for await (const message of stream) {
        if (message.event.case === "chunk" && first) {
          first = false;
          if (!firstFinishSeen) admitted++;
        } else if (message.event.case === "finish") {
          const finish = message.event.value;
          // Only a session that ran its length counts as a finish; anything else is a failed bench, said so.
          if (finish.finishReason !== inferencev1.FinishReason.LENGTH) throw new Error(`session ${index} finished ${inferencev1.FinishReason[finish.finishReason]}: ${finish.errorMessage}`);
          if ((finish.usage?.cachedPromptTokens ?? 0) > 0) cacheHits++;
          if (!firstFinishSeen) {
            firstFinishSeen = true;
            // The count is taken: the rest (running or waiting) are cancelled rather than computed.
            abort.abort(new Error("first finish"));
          }
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      // A failure ends the round: every other stream is cancelled with it.
      abort.abort(err);
      throw err;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.sessions }, (_, i) => session(i)));
    await poller;
  } finally {
    clearTimeout(guard);
  }
  if (!firstFinishSeen) throw new Error(`no session finished (${String(abort.signal.reason)})`);
  const after = await waitIdle(client);
  return {
    admitted,
    loadRunningMax: stats.loadRunningMax,
    loadWaitingAtMax: stats.loadWaitingAtMax,
    usedKDeviceBlocksMax: stats.usedKDeviceBlocksMax,
    allArrivedBeforeFirstFinish: stats.allArrived,
    preemptions: Number(after.preemptionsTotal - before.preemptionsTotal),
    cacheHits,
  };
}

/** Polls GetLoad until nothing runs or waits; returns that load report. */
async function waitIdle(client: WorkerClient) {
  const deadline = Date.now() + IDLE_TIMEOUT_MS;
  for (;;) {
    const load = (await client.getLoad({}, { timeoutMs: 10_000 })).load!;
    if (load.runningRequests === 0 && load.waitingRequests === 0) return load;
    if (Date.now() > deadline) throw new Error(`the worker still has ${load.runningRequests} running and ${load.waitingRequests} waiting ${IDLE_TIMEOUT_MS} ms after a round`);
    await sleep(20);
  }
}
