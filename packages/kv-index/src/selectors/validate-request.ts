/**
 * Checks a selection request once, at the top of every selector: numbers
 * finite and non-negative, the block size a positive integer, worker ids
 * unique. A bad request is the caller's bug, so it throws.
 */
import { KvIndexArgumentError } from "../errors.js";
import type { SelectionRequest, WorkerLoad } from "./worker-selector.js";

function nonNegative(argument: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new KvIndexArgumentError(argument, `must be a finite number ≥ 0, got ${String(value)}`);
  }
}

function ratio(argument: string, value: unknown): void {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new KvIndexArgumentError(argument, `must be a ratio in [0, 1], got ${String(value)}`);
  }
}

/** The candidates sorted by worker id (the order every breakdown and tie-break uses). */
export function checkedCandidates(request: SelectionRequest): WorkerLoad[] {
  nonNegative("requestTokens", request.requestTokens);
  if (!Number.isSafeInteger(request.blockSizeTokens) || request.blockSizeTokens < 1) {
    throw new KvIndexArgumentError("blockSizeTokens", `must be a positive integer, got ${String(request.blockSizeTokens)}`);
  }
  const seen = new Set<string>();
  request.candidates.forEach((load, i) => {
    if (typeof load.workerId !== "string" || load.workerId.length === 0) throw new KvIndexArgumentError(`candidates[${i}].workerId`, "must be a non-empty string");
    if (seen.has(load.workerId)) throw new KvIndexArgumentError(`candidates[${i}].workerId`, `"${load.workerId}" is listed twice`);
    seen.add(load.workerId);
    nonNegative(`candidates[${i}].runningRequests`, load.runningRequests);
    nonNegative(`candidates[${i}].waitingRequests`, load.waitingRequests);
    nonNegative(`candidates[${i}].activeBlocks`, load.activeBlocks);
    if (load.waitingBlocks !== undefined) nonNegative(`candidates[${i}].waitingBlocks`, load.waitingBlocks);
    for (const component of ["k", "v"] as const) {
      for (const tier of ["device", "host"] as const) ratio(`candidates[${i}].kvUsage.${component}.${tier}`, load.kvUsage?.[component]?.[tier]);
    }
    if (typeof load.selectiveV !== "boolean") throw new KvIndexArgumentError(`candidates[${i}].selectiveV`, `must be a boolean, got ${String(load.selectiveV)}`);
  });
  return [...request.candidates].sort((a, b) => compareIds(a.workerId, b.workerId));
}

/** Plain code-unit order, the same on every machine (no locale). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
