/**
 * Checks a selection request once, at the top of every selector: numbers
 * finite and non-negative, the block size a positive integer, worker ids
 * unique. A bad request is the caller's bug, so it throws.
 *
 * NOTE: this runs on every routing decision over every candidate (1,000 at
 * the index-scale bench), so the checks build no string unless one fails,
 * and a selector may pass a `CandidateOrder` that remembers the last
 * candidate list's sorted order: the router passes its workers in the same
 * order decision after decision, and then neither the id sort nor the
 * duplicate check is redone.
 */
import { KvIndexArgumentError } from "../errors.js";
import type { SelectionRequest, WorkerLoad } from "./worker-selector.js";

const isNonNegative = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value) && value >= 0;
const isRatio = (value: unknown): boolean => typeof value === "number" && value >= 0 && value <= 1;

function notNonNegative(argument: string, value: unknown): never {
  throw new KvIndexArgumentError(argument, `must be a finite number ≥ 0, got ${String(value)}`);
}

function notRatio(argument: string, value: unknown): never {
  throw new KvIndexArgumentError(argument, `must be a ratio in [0, 1], got ${String(value)}`);
}

/** The id order of the last candidate list a selector saw (ids as given, and their sorted permutation). */
export class CandidateOrder {
  ids: string[] = [];
  sorted = new Int32Array(0);

  /** Whether `candidates` carry exactly the ids of the last list, in the same order. */
  matches(candidates: readonly WorkerLoad[]): boolean {
    if (candidates.length !== this.ids.length) return false;
    for (let i = 0; i < candidates.length; i++) if (candidates[i]!.workerId !== this.ids[i]) return false;
    return true;
  }
}

/** The candidates sorted by worker id (the order every breakdown and tie-break uses). */
export function checkedCandidates(request: SelectionRequest, order?: CandidateOrder): WorkerLoad[] {
  if (!isNonNegative(request.requestTokens)) notNonNegative("requestTokens", request.requestTokens);
  if (!Number.isSafeInteger(request.blockSizeTokens) || request.blockSizeTokens < 1) {
    throw new KvIndexArgumentError("blockSizeTokens", `must be a positive integer, got ${String(request.blockSizeTokens)}`);
  }
  const candidates = request.candidates;
  const known = order?.matches(candidates) === true;
  const seen = known ? undefined : new Set<string>();
  for (let i = 0; i < candidates.length; i++) checkCandidate(candidates[i]!, i, seen);
  if (known) {
    const sorted = new Array<WorkerLoad>(candidates.length);
    for (let i = 0; i < sorted.length; i++) sorted[i] = candidates[order.sorted[i]!]!;
    return sorted;
  }
  const permutation = candidates.map((_, i) => i).sort((a, b) => compareIds(candidates[a]!.workerId, candidates[b]!.workerId));
  if (order !== undefined) {
    order.ids = candidates.map((load) => load.workerId);
    order.sorted = Int32Array.from(permutation);
  }
  return permutation.map((i) => candidates[i]!);
}

function checkCandidate(load: WorkerLoad, i: number, seen: Set<string> | undefined): void {
  if (typeof load.workerId !== "string" || load.workerId.length === 0) throw new KvIndexArgumentError(`candidates[${i}].workerId`, "must be a non-empty string");
  if (seen !== undefined) {
    if (seen.has(load.workerId)) throw new KvIndexArgumentError(`candidates[${i}].workerId`, `"${load.workerId}" is listed twice`);
    seen.add(load.workerId);
  }
  if (!isNonNegative(load.runningRequests)) notNonNegative(`candidates[${i}].runningRequests`, load.runningRequests);
  if (!isNonNegative(load.waitingRequests)) notNonNegative(`candidates[${i}].waitingRequests`, load.waitingRequests);
  if (!isNonNegative(load.activeBlocks)) notNonNegative(`candidates[${i}].activeBlocks`, load.activeBlocks);
  if (load.waitingBlocks !== undefined && !isNonNegative(load.waitingBlocks)) notNonNegative(`candidates[${i}].waitingBlocks`, load.waitingBlocks);
  const usage = load.kvUsage;
  if (!isRatio(usage?.k?.device)) notRatio(`candidates[${i}].kvUsage.k.device`, usage?.k?.device);
  if (!isRatio(usage?.k?.host)) notRatio(`candidates[${i}].kvUsage.k.host`, usage?.k?.host);
  if (!isRatio(usage?.v?.device)) notRatio(`candidates[${i}].kvUsage.v.device`, usage?.v?.device);
  if (!isRatio(usage?.v?.host)) notRatio(`candidates[${i}].kvUsage.v.host`, usage?.v?.host);
  if (typeof load.selectiveV !== "boolean") throw new KvIndexArgumentError(`candidates[${i}].selectiveV`, `must be a boolean, got ${String(load.selectiveV)}`);
}

/** Plain code-unit order, the same on every machine (no locale). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
