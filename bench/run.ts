/**
 * `npm run bench -- <name> [args]`: runs bench/<name>/main.ts, which returns
 * a result; this writes it to bench/results/<name>.json (or to
 * $BENCH_RESULTS_DIR/<name>.json when that is set) and prints it.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { printResult, writeResult, type BenchResult } from "./lib/bench-result.js";

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = (await readdir(here, { withFileTypes: true })).filter((e) => e.isDirectory() && !["lib", "results", "node_modules", "plots"].includes(e.name)).map((e) => e.name);
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>   (one of: ${available.join(", ")})\n`);
  process.exit(2);
}
const module = (await import(join(here, name, "main.ts"))) as { run(args: string[]): Promise<BenchResult> };
const result = await module.run(args);
const path = await writeResult(here, result, process.env["BENCH_RESULTS_DIR"] || undefined);
printResult(result);
process.stdout.write(`\nwrote ${path}\n`);
