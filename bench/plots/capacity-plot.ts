/**
 * (e) Capacity per variant (bench/capacity): concurrent long sessions a
 * worker admitted under one KV device budget, next to what the capacity
 * planner predicts for the same budget, for DiffQKV (full), GQA and DiffQKV
 * with selective V. Grouped bars, the count printed on each.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson } from "./bench-json.js";
import { listed, missingColumns, numberOf, type PlotDefinition, type PlotSkip } from "./plot-definition.js";
import { provenance } from "./provenance.js";

const LABELS: Record<string, string> = {
  "diffqkv-full": "DiffQKV, K+V on device",
  "gqa-full": "GQA, K+V on device",
  "diffqkv-selective-v": "DiffQKV, selective V, V on host",
};

export function capacitySpec(result: BenchJson): TopLevelSpec | PlotSkip {
  const missing = missingColumns(result.rows, ["variant", "admitted", "planner_sessions"]);
  if (missing.length > 0) return { skip: `capacity.json rows lack ${listed(missing)}` };
  const values = result.rows.flatMap((row) => {
    const variant = LABELS[String(row["variant"])] ?? String(row["variant"]);
    const measured = numberOf(row["admitted"]);
    const planned = numberOf(row["planner_sessions"]);
    return [
      ...(measured === undefined ? [] : [{ variant, source: "measured (worker admitted)", sessions: measured }]),
      ...(planned === undefined ? [] : [{ variant, source: "predicted (kv plan)", sessions: planned }]),
    ];
  });
  const first = result.rows[0]!;
  const budget = [first["device_MiB"] === undefined ? "" : `${String(first["device_MiB"])} MiB KV device budget`, first["session_tokens"] === undefined ? "" : `${String(first["session_tokens"])}-token sessions`, first["dtype"] === undefined ? "" : String(first["dtype"])].filter((s) => s !== "").join(", ");
  return {
    title: { text: "Concurrent long sessions admitted, measured vs planner", subtitle: [budget, provenance(result)].filter((s) => s !== "") },
    data: { values },
    width: 480,
    height: 260,
    encoding: {
      x: { field: "variant", type: "nominal", title: "variant", sort: Object.values(LABELS), axis: { labelAngle: 0, labelLimit: 200, labelExpr: "split(datum.label, ', ')" } },
      xOffset: { field: "source" },
      y: { field: "sessions", type: "quantitative", title: "concurrent sessions" },
      color: { field: "source", type: "nominal", title: "", scale: { range: ["#1f77b4", "#bbbbbb"] }, legend: { orient: "top" } },
    },
    layer: [{ mark: { type: "bar" } }, { mark: { type: "text", dy: -6, fontSize: 11 }, encoding: { text: { field: "sessions", type: "quantitative" } } }],
  };
}

export const CAPACITY_PLOT: PlotDefinition = {
  name: "capacity",
  inputs: ["capacity"],
  build: (results) => capacitySpec(results.get("capacity")!),
};
