/**
 * `npm run bench:plots` (from bench/: `node --import tsx plots/render.ts`):
 * draws docs/plots/<name>.svg from the bench results, bench/results/*.json
 * ($BENCH_RESULTS_DIR or `--results DIR` instead; `--out DIR` for another
 * output folder; `--only a,b` for some plots). A plot whose inputs are missing,
 * or whose rows lack the columns it reads, is skipped with a line saying
 * which; that never fails the script. A result that is there but unreadable
 * does (exit 1), as does a spec that does not render.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readBenchJson, type BenchJson } from "./bench-json.js";
import { isSkip } from "./plot-definition.js";
import { PLOTS } from "./plots.js";
import { renderSvg } from "./render-svg.js";

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ args: process.argv.slice(2), options: { results: { type: "string" }, out: { type: "string" }, only: { type: "string" } }, strict: true });
const resultsDir = resolve(values.results ?? (process.env["BENCH_RESULTS_DIR"] || join(benchDir, "results")));
const outDir = resolve(values.out ?? join(benchDir, "..", "docs", "plots"));
const only = values.only?.split(",");
const shown = (path: string) => relative(process.cwd(), path) || ".";

await mkdir(outDir, { recursive: true });
let drawn = 0;
for (const plot of PLOTS) {
  if (only !== undefined && !only.includes(plot.name)) continue;
  const results = new Map<string, BenchJson>();
  for (const input of plot.inputs) {
    const result = await readBenchJson(resultsDir, input);
    if (result !== undefined) results.set(input, result);
  }
  if (results.size === 0) {
    const wanted = plot.inputs.map((i) => `${i}.json`).join(" or ");
    process.stdout.write(`skip ${plot.name}: no ${wanted} in ${shown(resultsDir)} (run: ${plot.inputs.map((i) => `npm run bench -- ${i}`).join(", ")})\n`);
    continue;
  }
  const notes: string[] = [];
  const spec = plot.build(results, notes);
  for (const note of notes) process.stdout.write(`note ${plot.name}: ${note}\n`);
  if (isSkip(spec)) {
    process.stdout.write(`skip ${plot.name}: ${spec.skip}\n`);
    continue;
  }
  const path = join(outDir, `${plot.name}.svg`);
  await writeFile(path, await renderSvg(spec));
  drawn++;
  process.stdout.write(`wrote ${shown(path)}\n`);
}
process.stdout.write(`${drawn} plot(s) drawn\n`);
