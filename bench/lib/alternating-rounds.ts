/**
 * The measuring discipline of every performance bench (issue 16): variants
 * run in alternating rounds (A, B, A, B, ...), so slow phases of a shared,
 * noisy machine hit every variant alike; each variant gets at least 5 kept
 * rounds; a figure is reported as median, best and spread (min..max of the
 * kept rounds); a ratio is a ratio of medians. Rounds are discarded only for
 * a stated reason (the warm-up rounds, or a reason `discard` returns), and
 * the run prints how many it discarded and why.
 */
import { median } from "./median.js";

/** One variant's measurement per round: larger-is-better (a rate) or smaller-is-better (a time). */
export type Direction = "higher" | "lower";

export interface RoundStats {
  /** Kept rounds, in the order measured. */
  values: number[];
  median: number;
  /** The best kept round: the max for "higher", the min for "lower". */
  best: number;
  min: number;
  max: number;
  /** Rounds thrown away, with why. */
  discarded: { round: number; reason: string }[];
}

export interface AlternatingRoundsOptions<V extends string> {
  /** The variants, run in this order within each round. */
  variants: readonly V[];
  /** Kept rounds per variant (at least 5). */
  rounds: number;
  /** Untimed-for-the-figure rounds at the start (JIT, page faults, caches); counted as discarded. */
  warmupRounds?: number;
  /** Whether the order flips on odd rounds (A,B then B,A), so neither variant always runs first. Default true. */
  alternateOrder?: boolean;
  /** One measurement of `variant` in round `round`. */
  measure(variant: V, round: number): number | Promise<number>;
  /** A reason to discard this measurement (e.g. "a GC pause of 80 ms"), or undefined to keep it. */
  discard?(variant: V, round: number, value: number): string | undefined;
}

export const MIN_ROUNDS = 5;

/** Runs the rounds and returns each variant's stats. */
export async function alternatingRounds<V extends string>(options: AlternatingRoundsOptions<V>): Promise<Record<V, RoundStats>> {
  if (options.rounds < MIN_ROUNDS) throw new RangeError(`rounds must be at least ${MIN_ROUNDS} (got ${options.rounds})`);
  const warmup = options.warmupRounds ?? 1;
  const kept = new Map<V, number[]>(options.variants.map((v) => [v, []]));
  const discarded = new Map<V, { round: number; reason: string }[]>(options.variants.map((v) => [v, []]));
  // A discarded round is re-run (up to as many extra rounds again) so every variant still ends with `rounds` kept.
  const maxRounds = warmup + options.rounds * 2;
  for (let round = 0; round < maxRounds; round++) {
    if (options.variants.every((v) => kept.get(v)!.length >= options.rounds)) break;
    const order = options.alternateOrder !== false && round % 2 === 1 ? [...options.variants].reverse() : options.variants;
    for (const variant of order) {
      if (round >= warmup && kept.get(variant)!.length >= options.rounds) continue;
      const value = await options.measure(variant, round);
      if (round < warmup) {
        discarded.get(variant)!.push({ round, reason: "warm-up" });
        continue;
      }
      const reason = options.discard?.(variant, round, value);
      if (reason === undefined) kept.get(variant)!.push(value);
      else discarded.get(variant)!.push({ round, reason });
    }
  }
  const out = {} as Record<V, RoundStats>;
  for (const variant of options.variants) {
    const values = kept.get(variant)!;
    out[variant] = { values, median: median(values), best: Number.NaN, min: Math.min(...values), max: Math.max(...values), discarded: discarded.get(variant)! };
  }
  return out;
}

/** Fills `best` by direction (kept separate so one run can report a time and a rate from the same rounds). */
export function withBest(stats: RoundStats, direction: Direction): RoundStats {
  return { ...stats, best: direction === "higher" ? stats.max : stats.min };
}

/** "median [min..max]" with `digits` decimals, the form the tables print. */
export function spreadText(stats: RoundStats, digits = 2): string {
  return `${stats.median.toFixed(digits)} [${stats.min.toFixed(digits)}..${stats.max.toFixed(digits)}]`;
}

/** One line per variant with discarded rounds, e.g. "gqa: 1 discarded (warm-up ×1)"; empty when none. */
export function discardedSummary(all: Record<string, RoundStats>): string[] {
  return Object.entries(all)
    .filter(([, s]) => s.discarded.length > 0)
    .map(([variant, s]) => {
      const counts = new Map<string, number>();
      for (const d of s.discarded) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
      return `${variant}: ${s.discarded.length} discarded (${[...counts].map(([r, n]) => `${r} ×${n}`).join(", ")})`;
    });
}
