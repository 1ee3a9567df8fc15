/**
 * The shape every benchmark writes (DESIGN.md §10): `{name, machine, config,
 * rows, ratios}`. Ratios are measured side by side in the same run, never
 * against numbers from another run or machine.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export type Row = Record<string, string | number>;

export interface BenchResult {
  name: string;
  config: Record<string, unknown>;
  rows: Row[];
  ratios: Record<string, number>;
  /** Anything more a bench reports (the soak's samples and checks), written as `details` when present. */
  details?: Record<string, unknown>;
}

export function machine() {
  const cpu = cpus();
  return { cpu: cpu[0]?.model ?? "unknown", cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}/${process.arch}` };
}

/** Writes `<dir>/<name>.json`; `dir` defaults to bench/results (run.ts passes BENCH_RESULTS_DIR when set, e.g. a test's temp dir). */
export async function writeResult(benchDir: string, result: BenchResult, dir: string = join(benchDir, "results")): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${result.name}.json`);
  const json = JSON.stringify({ name: result.name, machine: machine(), measuredAt: new Date().toISOString(), config: result.config, rows: result.rows, ratios: result.ratios, ...(result.details === undefined ? {} : { details: result.details }) }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
  await writeFile(path, `${json}\n`);
  return path;
}

export function printResult(result: BenchResult): void {
  const columns = [...new Set(result.rows.flatMap((row) => Object.keys(row)))];
  const cell = (v: string | number | undefined) => (typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(3)) : (v ?? ""));
  const widths = columns.map((c) => Math.max(c.length, ...result.rows.map((r) => String(cell(r[c])).length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i]!)).join("  ");
  process.stdout.write(`${result.name}\n${line(columns)}\n`);
  for (const row of result.rows) process.stdout.write(`${line(columns.map((c) => String(cell(row[c]))))}\n`);
  process.stdout.write("\nratios (same run):\n");
  for (const [key, value] of Object.entries(result.ratios)) process.stdout.write(`  ${key}: ${value.toFixed(3)}\n`);
}

/** Wall time of `fn` in milliseconds (best of `repeats`). */
export function timeBest(repeats: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}
