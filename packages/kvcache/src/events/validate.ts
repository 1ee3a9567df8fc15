/**
 * Checks shared by the log, the snapshot helpers and the consumer. Epochs are
 * u64 and never 0 (the proto's "unset"); seqs are non-negative safe integers
 * (0 = before the first event of an epoch); block hashes are u64.
 */
import { KV_COMPONENTS, KV_TIERS, type KvComponent, type KvTier } from "../kv-types.js";
import { KvEventArgumentError, KvSnapshotError } from "./errors.js";
import type { KvSnapshot } from "./kv-event.js";

const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Why a value is invalid, or null when it is fine; callers wrap it in their own error class. */
export type Problem = string | null;

export function workerIdProblem(workerId: unknown): Problem {
  return typeof workerId === "string" && workerId.length > 0 ? null : "must be a non-empty string";
}

export function epochProblem(epoch: unknown): Problem {
  return typeof epoch === "bigint" && epoch > 0n && epoch <= MAX_U64
    ? null
    : `must be a bigint in [1, 2^64), got ${String(epoch)}`;
}

export function seqProblem(seq: unknown): Problem {
  return Number.isSafeInteger(seq) && (seq as number) >= 0 ? null : `must be a non-negative safe integer, got ${String(seq)}`;
}

export function blockHashProblem(hash: unknown): Problem {
  return typeof hash === "bigint" && hash >= 0n && hash <= MAX_U64 ? null : `must be a bigint in [0, 2^64), got ${String(hash)}`;
}

export function componentProblem(component: unknown): Problem {
  return KV_COMPONENTS.includes(component as KvComponent) ? null : `must be one of ${KV_COMPONENTS.join(", ")}, got ${String(component)}`;
}

export function tierProblem(tier: unknown): Problem {
  return KV_TIERS.includes(tier as KvTier) ? null : `must be one of ${KV_TIERS.join(", ")}, got ${String(tier)}`;
}

/** Throws `KvEventArgumentError` for a local argument that has a problem. */
export function checkArgument(argument: string, problem: Problem): void {
  if (problem !== null) throw new KvEventArgumentError(argument, problem);
}

/** A received snapshot's header is usable: non-empty worker id, epoch in [1, 2^64), asOfSeq ≥ 0. */
export function assertSnapshotHeader(snapshot: KvSnapshot): void {
  const problem =
    prefixed("workerId", workerIdProblem(snapshot.workerId)) ??
    prefixed("epoch", epochProblem(snapshot.epoch)) ??
    prefixed("asOfSeq", seqProblem(snapshot.asOfSeq));
  if (problem !== null) throw new KvSnapshotError(problem);
}

function prefixed(field: string, problem: string | null): string | null {
  return problem === null ? null : `${field} ${problem}`;
}
