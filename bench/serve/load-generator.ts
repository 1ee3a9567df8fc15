/**
 * The load generator: open loop (requests sent at their Poisson arrival times,
 * whether or not earlier ones have finished) or closed loop (N clients, each
 * sending its next request when the previous one ends). Every request is timed
 * on the client: TTFT to the first chunk, the gap before every later token
 * (ITL; a chunk of n tokens counts as n gaps of gap/n), and end to end. In open
 * loop the clock starts at the scheduled arrival, not the actual send, so a
 * lagging event loop shows up as latency rather than hiding it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Target } from "./targets.js";
import type { Workload, WorkloadRequest } from "./workload.js";

export interface RequestRecord {
  index: number;
  tenant: number;
  /** When the request was due (open loop) or sent (closed loop), performance.now() ms. */
  sentAtMs: number;
  /** How late the send was against its schedule, ms (open loop). */
  sendLagMs: number;
  outcome: "ok" | "rejected" | "error";
  error?: string;
  /** From sentAtMs. */
  ttftMs?: number;
  lastTokenMs?: number;
  e2eMs?: number;
  /** One entry per token after the first. */
  itlMs: number[];
  outputTokens: number;
  promptTokens: number;
  cachedPromptTokens: number;
  /** The router's own share of the TTFT, as the router reports it (through the router only). */
  routerMs?: number;
}

export interface LoadOptions {
  /** Deadline of each request, ms. */
  timeoutMs: number;
  /** Prefix of request ids (to tell runs apart in logs). */
  runId: string;
}

async function issue(target: Target, request: WorkloadRequest, sentAtMs: number, options: LoadOptions): Promise<RequestRecord> {
  const record: RequestRecord = { index: request.index, tenant: request.tenant, sentAtMs, sendLagMs: performance.now() - sentAtMs, outcome: "ok", itlMs: [], outputTokens: 0, promptTokens: 0, cachedPromptTokens: 0 };
  let previousMs: number | undefined;
  try {
    for await (const event of target.generate(request, `${options.runId}-${request.index}`, options.timeoutMs)) {
      const nowMs = performance.now() - sentAtMs;
      if (event.type === "chunk") {
        if (event.tokens === 0) continue;
        if (previousMs === undefined) {
          record.ttftMs = nowMs;
          for (let i = 1; i < event.tokens; i++) record.itlMs.push(0);
        } else {
          for (let i = 0; i < event.tokens; i++) record.itlMs.push((nowMs - previousMs) / event.tokens);
        }
        previousMs = nowMs;
        record.lastTokenMs = nowMs;
        record.outputTokens += event.tokens;
      } else {
        record.e2eMs = nowMs;
        record.promptTokens = event.promptTokens;
        record.cachedPromptTokens = event.cachedPromptTokens;
        if (event.routerMs !== undefined) record.routerMs = event.routerMs;
        if (event.finishReason !== "length" && event.finishReason !== "stop") {
          record.outcome = "error";
          record.error = `finish_reason ${event.finishReason}`;
        }
      }
    }
    if (record.ttftMs === undefined && record.outcome === "ok") {
      record.outcome = "error";
      record.error = "no token";
    }
  } catch (err) {
    record.outcome = target.isRejection(err) ? "rejected" : "error";
    record.error = (err as Error).message;
    record.e2eMs = performance.now() - sentAtMs;
  }
  return record;
}

/** Sends request i at `arrivalsMs[i]` after the start, never waiting for answers; resolves when all have ended. */
export async function runOpenLoop(target: Target, workload: Workload, arrivalsMs: readonly number[], options: LoadOptions): Promise<RequestRecord[]> {
  const startMs = performance.now();
  const pending: Promise<RequestRecord>[] = [];
  for (const request of workload.requests) {
    const dueMs = startMs + arrivalsMs[request.index]!;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) await sleep(Math.ceil(waitMs));
    pending.push(issue(target, request, dueMs, options));
  }
  return Promise.all(pending);
}

/**
 * `concurrency` clients take the workload's requests in order, each sending the next when its previous one ends;
 * none starts a request after `maxSeconds`, so an overloaded cluster cannot stretch the run (the records then hold fewer requests).
 */
export async function runClosedLoop(target: Target, workload: Workload, concurrency: number, maxSeconds: number, options: LoadOptions): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  const stopAtMs = performance.now() + maxSeconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < workload.requests.length && performance.now() < stopAtMs) {
        const request = workload.requests[next++]!;
        records.push(await issue(target, request, performance.now(), options));
      }
    }),
  );
  return records.sort((a, b) => a.index - b.index);
}
