/**
 * What the soak's requests came to, and their latency over time. A request
 * "across a fault" is one whose lifetime overlaps a fault's span (see
 * faults.ts): ok ones are those the router carried through a kill or a
 * drain, errors there are counted apart from errors anywhere else, which
 * nothing in the soak injects and must therefore be 0.
 */
import { percentile } from "../serve/percentiles.js";
import type { FaultRecord } from "./faults.js";
import type { Window } from "./memory-sampler.js";
import type { SoakRecord } from "./traffic.js";

export interface OutcomeCounts {
  requests: number;
  /** ok, and no fault under way. */
  ok: number;
  /** ok although a fault was under way during it (carried through a kill or a drain). */
  okAcrossFault: number;
  /** Cancelled on purpose by the client, mid-stream. */
  cancelled: number;
  /** Refused by admission (RESOURCE_EXHAUSTED, HTTP 429). */
  refused: number;
  /** Failed while a fault was under way. */
  errorsAcrossFault: number;
  /** Failed with no fault under way: a defect. */
  unexpectedErrors: number;
}

const overlaps = (record: SoakRecord, fault: FaultRecord) => record.startMs < fault.endMs && record.endMs > fault.startMs;

export function countOutcomes(records: readonly SoakRecord[], faults: readonly FaultRecord[]): OutcomeCounts {
  const counts: OutcomeCounts = { requests: records.length, ok: 0, okAcrossFault: 0, cancelled: 0, refused: 0, errorsAcrossFault: 0, unexpectedErrors: 0 };
  for (const record of records) {
    const acrossFault = faults.some((fault) => overlaps(record, fault));
    if (record.outcome === "ok") counts[acrossFault ? "okAcrossFault" : "ok"]++;
    else if (record.outcome === "cancelled") counts.cancelled++;
    else if (record.outcome === "refused") counts.refused++;
    else counts[acrossFault ? "errorsAcrossFault" : "unexpectedErrors"]++;
  }
  return counts;
}

/** The distinct error messages with their counts and whether each happened across a fault, most frequent first. */
export function errorMessages(records: readonly SoakRecord[], faults: readonly FaultRecord[]): { error: string; acrossFault: boolean; count: number; kinds: string[]; requestIds: string[] }[] {
  const byKey = new Map<string, { error: string; acrossFault: boolean; count: number; kinds: string[]; requestIds: string[] }>();
  for (const record of records) {
    if (record.outcome !== "error") continue;
    const acrossFault = faults.some((fault) => overlaps(record, fault));
    const key = `${acrossFault}\0${record.error}`;
    const entry = byKey.get(key) ?? { error: record.error ?? "", acrossFault, count: 0, kinds: [], requestIds: [] };
    entry.count++;
    if (!entry.kinds.includes(record.kind)) entry.kinds.push(record.kind);
    // A few ids per message: enough to find them in the router's log lines (details.logs).
    if (record.requestId !== undefined && entry.requestIds.length < 10) entry.requestIds.push(record.requestId);
    byKey.set(key, entry);
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count);
}

export interface TtftWindow {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

/** Client-side TTFT of the ok streamed requests sent inside `window`. */
export function ttftIn(records: readonly SoakRecord[], window: Window): TtftWindow {
  const ttfts = records.filter((r) => r.outcome === "ok" && r.ttftMs !== undefined && r.startMs >= window.startMs && r.startMs <= window.endMs).map((r) => r.ttftMs!);
  return { samples: ttfts.length, p50Ms: Number(percentile(ttfts, 50).toFixed(1)), p99Ms: Number(percentile(ttfts, 99).toFixed(1)) };
}
