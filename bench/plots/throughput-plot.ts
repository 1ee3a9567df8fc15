/**
 * (b) Generated tokens/s against concurrency, for us and the peer. From
 * bench/engine (`part: "throughput"` rows: our worker on sigma-tiny, closed
 * loop at each concurrency) and bench/peer (our worker against transformers.js
 * on the same llama-tiny weights, `side`, `streams`, `tok_s_median`). Each
 * series is a median over rounds with its min..max as an error bar where the
 * rows carry the spread. Either input alone still draws its series; the peer
 * bench is new, so missing columns skip its series with a note.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson } from "./bench-json.js";
import { listed, missingColumns, numberOf, rangeOf, type PlotDefinition, type PlotSkip } from "./plot-definition.js";
import { provenance } from "./provenance.js";

interface Point {
  series: string;
  concurrency: number;
  tokensPerS: number;
  min?: number;
  max?: number;
}

const presetOf = (result: BenchJson, fallback: string) => (typeof result.config?.["preset"] === "string" ? result.config["preset"] : fallback);

export function enginePoints(engine: BenchJson, notes: string[]): Point[] {
  const rows = engine.rows.filter((row) => row["part"] === undefined || row["part"] === "throughput");
  const missing = missingColumns(rows, ["concurrency", "tokens_per_s"]);
  if (missing.length > 0) {
    notes.push(`throughput: engine.json rows lack ${listed(missing)}; its series is left out`);
    return [];
  }
  const series = `sigmaserve worker, ${presetOf(engine, "sigma-tiny")} (bench/engine)`;
  return rows.flatMap((row) => {
    const concurrency = numberOf(row["concurrency"]);
    const tokensPerS = numberOf(row["tokens_per_s"]);
    if (concurrency === undefined || tokensPerS === undefined) return [];
    return [{ series, concurrency, tokensPerS, ...rangeOf(row["spread"]) }];
  });
}

export function peerPoints(peer: BenchJson, notes: string[]): Point[] {
  const missing = missingColumns(peer.rows, ["side", "streams", "tok_s_median"]);
  if (missing.length > 0) {
    notes.push(`throughput: peer.json rows lack ${listed(missing)}; its series are left out`);
    return [];
  }
  const preset = presetOf(peer, "same weights");
  return peer.rows.flatMap((row) => {
    const concurrency = numberOf(row["streams"]);
    const tokensPerS = numberOf(row["tok_s_median"]);
    if (concurrency === undefined || tokensPerS === undefined) return [];
    return [{ series: `${String(row["side"])}, ${preset} (bench/peer)`, concurrency, tokensPerS, ...rangeOf(row["tok_s_spread"]) }];
  });
}

export function throughputSpec(engine: BenchJson | undefined, peer: BenchJson | undefined, notes: string[] = []): TopLevelSpec | PlotSkip {
  if (engine === undefined && peer === undefined) return { skip: "neither engine.json nor peer.json is there" };
  if (peer === undefined) notes.push("throughput: no peer.json (npm run bench -- peer); only our worker is drawn");
  if (engine === undefined) notes.push("throughput: no engine.json (npm run bench -- engine); only bench/peer is drawn");
  const points = [...(engine === undefined ? [] : enginePoints(engine, notes)), ...(peer === undefined ? [] : peerPoints(peer, notes))];
  if (points.length === 0) return { skip: "no throughput rows with numeric concurrency and tokens/s" };
  const sources = [engine, peer].flatMap((r) => (r === undefined ? [] : [provenance(r)]));
  return {
    title: { text: "Generated tokens/s vs concurrency: sigmaserve and the peer", subtitle: ["greedy, EOS ignored; median of rounds, bars: min..max; higher is better", ...sources] },
    data: { values: points },
    width: 460,
    height: 300,
    encoding: {
      x: { field: "concurrency", type: "quantitative", title: "concurrent streams", scale: { type: "log", base: 2 } },
      color: { field: "series", type: "nominal", title: "server", legend: { orient: "bottom", direction: "vertical", labelLimit: 480 } },
    },
    layer: [
      { mark: { type: "line", point: true }, encoding: { y: { field: "tokensPerS", type: "quantitative", title: "generated tokens/s" } } },
      { mark: { type: "rule" }, encoding: { y: { field: "min", type: "quantitative" }, y2: { field: "max" } } },
    ],
  };
}

export const THROUGHPUT_PLOT: PlotDefinition = {
  name: "tokens-per-s-vs-concurrency",
  inputs: ["engine", "peer"],
  build: (results, notes) => throughputSpec(results.get("engine"), results.get("peer"), notes),
};
