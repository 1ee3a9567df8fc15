/**
 * (a) Decode-step time against context for DiffQKV and GQA, with the
 * roofline (bench/attention). Measured: the native kernel's `ms` per decode
 * step (median of rounds, L3 flushed; `ms_spread`'s min..max as a bar), by
 * context, a panel per batch size, a series per model (and per KV dtype when
 * the run has several). Roofline, dashed: the time the same step's bytes take
 * at copy speed, measured in the same run: the row's own `roofline_ms` where
 * the bench writes one, else `MiB_per_step` over a `part: "roofline"` row's
 * GB/s (the bench's older form). Selective-V rows, where present, are one more
 * series. Both axes are logarithmic.
 *
 * The attention bench's rows are being reworked, so this reads columns by
 * name and skips (with the names) what is missing: it needs `ctx`, `ms` and
 * `shape`, and draws the roofline only from one of the two forms above.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson, BenchRow } from "./bench-json.js";
import { listed, missingColumns, numberOf, rangeOf, type PlotDefinition, type PlotSkip } from "./plot-definition.js";
import { provenance } from "./provenance.js";

const MIB = 2 ** 20;

/** "DiffQKV (sigma-1.5b)" or "GQA (std-1.5b)" from a preset/shape name. */
export function modelLabel(shape: string): string {
  if (/sigma|diffqkv/i.test(shape)) return `DiffQKV (${shape})`;
  if (/std|gqa|llama/i.test(shape)) return `GQA (${shape})`;
  return shape;
}

interface Point {
  ctx: number;
  batch: string;
  model: string;
  kind: string;
  dtype: string;
  ms: number;
  msMin?: number;
  msMax?: number;
}

const ROOFLINE = "roofline (same bytes at copy speed)";

export function decodeStepSpec(result: BenchJson, notes: string[] = []): TopLevelSpec | PlotSkip {
  const isDecode = (row: BenchRow) => row["part"] === undefined || String(row["part"]) === "decode";
  const isSelective = (row: BenchRow) => /selective/i.test(String(row["part"] ?? ""));
  let decode = result.rows.filter(isDecode);
  const missing = missingColumns(decode, ["ctx", "ms", "shape"]);
  if (missing.length > 0) return { skip: `attention.json decode rows lack ${listed(missing)}` };
  // The native kernel is the one the engine runs; the JS kernel's reference rows would crowd the plot.
  if (decode.some((row) => row["kernel"] === "native")) decode = decode.filter((row) => row["kernel"] === undefined || row["kernel"] === "native");
  const selective = result.rows.filter((row) => isSelective(row) && (row["kernel"] === undefined || row["kernel"] === "native"));
  const rooflineGBps = numberOf(result.rows.find((row) => row["part"] === "roofline")?.["GBps"]);
  const rooflineMs = (row: BenchRow): number | undefined => {
    const own = numberOf(row["roofline_ms"]);
    if (own !== undefined) return own;
    const mib = numberOf(row["MiB_per_step"]);
    return rooflineGBps === undefined || mib === undefined ? undefined : (mib * MIB) / (rooflineGBps * 1e6);
  };
  if (!decode.some((row) => rooflineMs(row) !== undefined)) notes.push('attention: no "roofline_ms" column and no roofline row with "GBps"; the roofline is not drawn');
  // A panel row per KV dtype when the run measured several (f32, bf16), a column per batch size.
  const dtypes = [...new Set(decode.map((row) => row["dtype"]).filter((d) => d !== undefined && d !== ""))].map(String);
  const dtypeOf = (row: BenchRow) => (row["dtype"] === undefined || row["dtype"] === "" ? "" : `KV ${String(row["dtype"])}`);

  const points: Point[] = [];
  const batchOf = (row: BenchRow) => (row["batch"] === undefined ? "all" : `batch ${String(row["batch"])}`);
  const measured = (row: BenchRow, model: string) => {
    const ctx = numberOf(row["ctx"]);
    const ms = numberOf(row["ms"]);
    if (ctx === undefined || ms === undefined) return;
    const spread = rangeOf(row["ms_spread"]);
    const at = { ctx, batch: batchOf(row), dtype: dtypeOf(row), model };
    points.push({ ...at, kind: "measured", ms, ...(spread === undefined ? {} : { msMin: spread.min, msMax: spread.max }) });
    const roof = rooflineMs(row);
    if (roof !== undefined && !isSelective(row)) points.push({ ...at, kind: ROOFLINE, ms: roof });
  };
  for (const row of decode) measured(row, modelLabel(String(row["shape"])));
  for (const row of selective) measured(row, `DiffQKV ${String(row["part"])}`);
  if (points.length === 0) return { skip: "attention.json has no decode row with numeric ctx and ms" };
  const contexts = [...new Set(points.map((p) => p.ctx))].sort((a, b) => a - b);
  const batches = [...new Set(points.map((p) => p.batch))].sort((a, b) => (numberOf(a.replace(/\D+/g, "")) ?? 0) - (numberOf(b.replace(/\D+/g, "")) ?? 0));
  const x = { field: "ctx", type: "quantitative" as const, title: "context (tokens)", scale: { type: "log" as const, base: 2 }, axis: { values: contexts, labelExpr: "datum.value >= 1024 ? datum.value / 1024 + 'K' : datum.value" } };
  return {
    title: {
      text: "Attention decode step time vs context: DiffQKV and GQA",
      subtitle: ["one decode step (one query row per sequence), L3 flushed; median of rounds, bars: min..max; lower is better", "solid: measured; dashed: the roofline, a read-only stream over the same slots on the same threads, in the same rounds", provenance(result)],
    },
    data: { values: points },
    facet: { column: { field: "batch", type: "nominal", title: null, sort: batches }, ...(dtypes.length > 1 ? { row: { field: "dtype", type: "nominal", title: null } } : {}) },
    spec: {
      width: 300,
      height: 260,
      layer: [
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            y: { field: "ms", type: "quantitative", title: "decode step time (ms)", scale: { type: "log" } },
            color: { field: "model", type: "nominal", title: "model", legend: { orient: "bottom", direction: "vertical" } },
            // The subtitle says which line is which: vega draws no dash in a legend symbol without a canvas.
            strokeDash: { field: "kind", type: "nominal", sort: ["measured", ROOFLINE], legend: null },
          },
        },
        { mark: { type: "rule" }, encoding: { x, y: { field: "msMin", type: "quantitative" }, y2: { field: "msMax" }, color: { field: "model", type: "nominal" } } },
      ],
    },
  };
}

export const DECODE_STEP_PLOT: PlotDefinition = {
  name: "decode-step-vs-context",
  inputs: ["attention"],
  build: (results, notes) => decodeStepSpec(results.get("attention")!, notes),
};
