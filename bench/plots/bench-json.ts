/**
 * The plots' input: a bench's result as bench/lib/bench-result.ts writes it
 * (`{name, machine, measuredAt, config, rows, ratios}`), read from the results
 * folder. A missing file is not an error: the plot that needs it is skipped.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export type Cell = string | number | null | undefined;
export type BenchRow = Record<string, Cell>;

export interface BenchJson {
  name: string;
  machine?: { cpu?: string; cores?: number };
  measuredAt?: string;
  config?: Record<string, unknown>;
  rows: BenchRow[];
  ratios?: Record<string, number | null>;
}

/** `<dir>/<name>.json`, or undefined when there is none. A file that is there but not a result throws (a broken input is a bug). */
export async function readBenchJson(dir: string, name: string): Promise<BenchJson | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, `${name}.json`), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<BenchJson>;
  if (!Array.isArray(parsed.rows)) throw new Error(`${name}.json has no rows array`);
  return { name: parsed.name ?? name, ...parsed, rows: parsed.rows } as BenchJson;
}
