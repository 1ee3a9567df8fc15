/**
 * What one plot is: its output name (docs/plots/<name>.svg), the bench
 * results it reads, and a builder that turns them into a Vega-Lite spec, or
 * says why it cannot (a result missing, columns the bench no longer writes).
 * Builders are pure: literal rows in, a spec out, so a test can drive them.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson, BenchRow, Cell } from "./bench-json.js";

/** A plot that cannot be drawn from what is there, and why (printed, never thrown). */
export interface PlotSkip {
  skip: string;
}

export interface PlotDefinition {
  /** File name without .svg. */
  name: string;
  /** Bench result names it reads; it is skipped when none is there (the builder says what a partial set leaves out). */
  inputs: readonly string[];
  /** `notes` collects what was left out of a plot that is still drawn (a series, a column), printed by the renderer. */
  build(results: ReadonlyMap<string, BenchJson>, notes: string[]): TopLevelSpec | PlotSkip;
}

export const isSkip = (value: TopLevelSpec | PlotSkip): value is PlotSkip => "skip" in value && typeof (value as PlotSkip).skip === "string";

/** The numeric value of a cell, or undefined (an empty string, a note, a null). */
export function numberOf(cell: Cell): number | undefined {
  if (typeof cell === "number") return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell === "string" && cell.trim() !== "" && Number.isFinite(Number(cell))) return Number(cell);
  return undefined;
}

/** The columns of `wanted` that no row of `rows` has: what a plot names when it skips. */
export function missingColumns(rows: readonly BenchRow[], wanted: readonly string[]): string[] {
  return wanted.filter((column) => !rows.some((row) => row[column] !== undefined && row[column] !== ""));
}

/** "a, b" for a skip message. */
export const listed = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(", ");

/** min and max of a spread cell: "12..15", "13 [12..15]" or "13.0 [12.0..15.0]"; undefined when there is none. */
export function rangeOf(cell: Cell): { min: number; max: number } | undefined {
  const match = /(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\]?\s*$/.exec(String(cell ?? ""));
  if (match === null) return undefined;
  const min = Number(match[1]);
  const max = Number(match[2]);
  return Number.isFinite(min) && Number.isFinite(max) ? { min, max } : undefined;
}
