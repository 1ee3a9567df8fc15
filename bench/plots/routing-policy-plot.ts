/**
 * (c) Prefix-cache hit rate and TTFT per routing policy (bench/serve): the
 * policy comparison's rows (`config` is the policy: kv_aware, round_robin,
 * least_loaded), one group per workload (`part` and `load`: the 4
 * tenants or 12 under cache pressure, Poisson or closed loop). Three panels
 * one under another: hit rate, TTFT p50 and TTFT p99. The router-against-direct
 * rows are not policies and are left out.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson } from "./bench-json.js";
import { listed, missingColumns, numberOf, type PlotDefinition, type PlotSkip } from "./plot-definition.js";
import { provenance } from "./provenance.js";

const POLICIES = ["kv_aware", "least_loaded", "round_robin"];

export function routingPolicySpec(serve: BenchJson, notes: string[] = []): TopLevelSpec | PlotSkip {
  const rows = serve.rows.filter((row) => POLICIES.includes(String(row["config"])));
  if (rows.length === 0) return { skip: `serve.json has no row whose "config" is a policy (${POLICIES.join(", ")})` };
  const missing = missingColumns(rows, ["hit_rate", "ttft_p50", "ttft_p99"]);
  if (missing.length === 3) return { skip: `serve.json policy rows lack ${listed(missing)}` };
  if (missing.length > 0) notes.push(`routing: serve.json policy rows lack ${listed(missing)}; those panels are left out`);
  const values = rows.map((row) => ({
    workload: [row["part"], row["load"]].filter((c) => c !== undefined && c !== "").join(", "),
    policy: String(row["config"]),
    hitRate: numberOf(row["hit_rate"]),
    ttftP50: numberOf(row["ttft_p50"]),
    ttftP99: numberOf(row["ttft_p99"]),
  }));
  const workloads = [...new Set(values.map((v) => v.workload))];
  // Horizontal bars, one panel under another: the workload labels are long, and read best on the y axis.
  const panel = (field: string, title: string, format?: string) => ({
    width: 420,
    height: Math.max(90, 34 * workloads.length),
    mark: { type: "bar" as const },
    encoding: {
      y: { field: "workload", type: "nominal" as const, title: null, sort: workloads },
      yOffset: { field: "policy", sort: POLICIES },
      x: { field, type: "quantitative" as const, title, ...(format === undefined ? {} : { axis: { format } }) },
      color: { field: "policy", type: "nominal" as const, title: "routing policy", sort: POLICIES, legend: { orient: "top" as const } },
      tooltip: [{ field: "workload" }, { field: "policy" }, { field }],
    },
  });
  const panels = [
    ...(missing.includes("hit_rate") ? [] : [panel("hitRate", "prefix-cache hit rate", "%")]),
    ...(missing.includes("ttft_p50") ? [] : [panel("ttftP50", "TTFT p50 (ms)")]),
    ...(missing.includes("ttft_p99") ? [] : [panel("ttftP99", "TTFT p99 (ms)")]),
  ];
  return {
    title: { text: "Routing policies: prefix-cache hit rate and time to first token", subtitle: ["3 sigma-tiny workers behind the router, shared-prefix workload; hit rate higher is better, TTFT lower", provenance(serve)] },
    data: { values },
    vconcat: panels,
    resolve: { scale: { x: "independent" } },
  } as TopLevelSpec;
}

export const ROUTING_POLICY_PLOT: PlotDefinition = {
  name: "routing-policies",
  inputs: ["serve"],
  build: (results, notes) => routingPolicySpec(results.get("serve")!, notes),
};
