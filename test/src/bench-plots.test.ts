/**
 * `npm run bench:plots` (bench/plots/render.ts) as a child process on small
 * fixture results (bench/plots/fixtures/*.json, written by hand): every plot
 * is drawn as SVG with its title, axis titles and series, and the figures the
 * fixtures imply (medians and counts worked out by hand) are the ones printed.
 * Then the tolerance: a results folder with some inputs missing and one whose
 * rows lack the columns a plot reads is drawn as far as it goes, the rest
 * skipped with a line each, and the script still exits 0.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const benchDir = fileURLToPath(new URL("../../bench/", import.meta.url));
const fixtures = join(benchDir, "plots", "fixtures");
/** Rendering five plots takes a few seconds; this only stops a hang. */
const HANG_GUARD_MS = 120_000;

async function renderPlots(resultsDir: string, outDir: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", "plots/render.ts", "--results", resultsDir, "--out", outDir], { cwd: benchDir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, `plots/render.ts exited with ${code}:\n${output}`);
  return output;
}

/** Every line of text (titles, subtitle lines, axis titles, labels, legend entries), unescaped enough for the checks. */
function svgTexts(svg: string): string[] {
  const unescape = (text: string) => text.replaceAll("&amp;", "&").replaceAll("&lt;", "<").replaceAll("&gt;", ">");
  // A multi-line text (a subtitle of several lines, a label split in two) is a <text> of <tspan>s, one per line.
  return [...svg.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].flatMap((m) => {
    const inner = m[1]!;
    return inner.includes("<tspan") ? [...inner.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((t) => unescape(t[1]!)) : [unescape(inner)];
  });
}

function assertHasTexts(name: string, texts: string[], expected: string[]): void {
  for (const text of expected) assert.ok(texts.includes(text), `${name}.svg has no text "${text}"; it has: ${JSON.stringify(texts)}`);
}

test("bench:plots - draws the five plots from fixture results, with titles, axis titles, series and the fixtures' figures", { timeout: HANG_GUARD_MS }, async () => {
  const outDir = await mkdtemp(join(tmpdir(), "sigmaserve-plots-"));
  try {
    const output = await renderPlots(fixtures, outDir);
    assert.match(output, /5 plot\(s\) drawn/);
    const files = (await readdir(outDir)).sort();
    assert.deepEqual(files, ["capacity.svg", "decode-step-vs-context.svg", "migration-vs-tcp.svg", "routing-policies.svg", "tokens-per-s-vs-concurrency.svg"]);
    const texts = async (name: string) => {
      const svg = await readFile(join(outDir, `${name}.svg`), "utf8");
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      return svgTexts(svg);
    };

    const decode = await texts("decode-step-vs-context");
    assertHasTexts("decode-step-vs-context", decode, [
      "Attention decode step time vs context: DiffQKV and GQA",
      "solid: measured; dashed: the roofline, a read-only stream over the same slots on the same threads, in the same rounds",
      "context (tokens)",
      "decode step time (ms)",
      "batch 1",
      "batch 8",
      "DiffQKV (sigma-1.5b)",
      "GQA (std-1.5b)",
      "DiffQKV selective V top-64",
    ]);

    const throughput = await texts("tokens-per-s-vs-concurrency");
    assertHasTexts("tokens-per-s-vs-concurrency", throughput, [
      "Generated tokens/s vs concurrency: sigmaserve and the peer",
      "concurrent streams",
      "generated tokens/s",
      "sigmaserve worker, sigma-tiny (bench/engine)",
      "sigmaserve worker, llama-tiny (bench/peer)",
      "transformers.js, llama-tiny (bench/peer)",
    ]);

    const routing = await texts("routing-policies");
    assertHasTexts("routing-policies", routing, ["Routing policies: prefix-cache hit rate and time to first token", "prefix-cache hit rate", "TTFT p50 (ms)", "TTFT p99 (ms)", "kv_aware", "round_robin", "policy, poisson 20/s", "pressure, poisson 20/s"]);
    // The router-against-direct row is not a policy.
    assert.ok(!routing.some((t) => t.includes("router cost")), "routing-policies.svg shows the router-cost row");

    const migration = await texts("migration-vs-tcp");
    // Medians of the fixture's three rounds: migration 1.10/1.15/1.20 GB/s, TCP 1.60/1.62/1.64, gRPC 1.30.
    assertHasTexts("migration-vs-tcp", migration, ["KV migration bandwidth vs loopback TCP", "GB/s (10^9 bytes per second)", "KV migration, worker to worker", "plain grpc-js stream", "loopback TCP", "1.15", "1.62", "1.30"]);

    const capacity = await texts("capacity");
    assertHasTexts("capacity", capacity, ["Concurrent long sessions admitted, measured vs planner", "40 MiB KV device budget, 1024-token sessions, f32", "concurrent sessions", "measured (worker admitted)", "predicted (kv plan)", "16", "10", "40", "80"]);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});

test("bench:plots - a missing result or a column a bench no longer writes skips that plot with a line, and the script exits 0", { timeout: HANG_GUARD_MS }, async () => {
  const resultsDir = await mkdtemp(join(tmpdir(), "sigmaserve-plot-inputs-"));
  const outDir = await mkdtemp(join(tmpdir(), "sigmaserve-plots-"));
  try {
    await copyFile(join(fixtures, "capacity.json"), join(resultsDir, "capacity.json"));
    await copyFile(join(fixtures, "engine.json"), join(resultsDir, "engine.json"));
    // An attention result whose rows were renamed: no "ms" column.
    await writeFile(join(resultsDir, "attention.json"), JSON.stringify({ name: "attention", rows: [{ part: "decode", shape: "sigma-1.5b", ctx: 1024, step_us: 900 }], ratios: {} }));
    const output = await renderPlots(resultsDir, outDir);
    assert.match(output, /skip decode-step-vs-context: attention\.json decode rows lack "ms"/);
    assert.match(output, /note tokens-per-s-vs-concurrency: throughput: no peer\.json/);
    assert.match(output, /skip routing-policies: no serve\.json in /);
    assert.match(output, /skip migration-vs-tcp: no migrate\.json in /);
    assert.match(output, /2 plot\(s\) drawn/);
    assert.deepEqual((await readdir(outDir)).sort(), ["capacity.svg", "tokens-per-s-vs-concurrency.svg"]);
  } finally {
    await rm(resultsDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  }
});
