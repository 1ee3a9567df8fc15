/**
 * (d) Migration bandwidth against loopback TCP (bench/migrate, part
 * "transfer"): the same bytes of sigma-1.5b-shaped KV blocks moved worker to
 * worker by a migration, by a plain grpc-js stream, and by a loopback TCP
 * stream between two processes. A bar per path (median of the rounds), with
 * each round as a dot, so the spread shows.
 */
import type { TopLevelSpec } from "vega-lite";
import type { BenchJson } from "./bench-json.js";
import { listed, missingColumns, numberOf, type PlotDefinition, type PlotSkip } from "./plot-definition.js";
import { provenance } from "./provenance.js";

const PATHS = [
  { column: "migrate_GBps", label: "KV migration, worker to worker" },
  { column: "grpc_GBps", label: "plain grpc-js stream" },
  { column: "tcp_GBps", label: "loopback TCP" },
] as const;

export function migrationSpec(migrate: BenchJson, notes: string[] = []): TopLevelSpec | PlotSkip {
  const transfer = migrate.rows.filter((row) => row["part"] === "transfer");
  if (transfer.length === 0) return { skip: 'migrate.json has no "transfer" rows (run it with --parts transfer)' };
  const missing = missingColumns(transfer, PATHS.map((p) => p.column));
  if (missing.includes("migrate_GBps") || missing.includes("tcp_GBps")) return { skip: `migrate.json transfer rows lack ${listed(missing)}` };
  if (missing.length > 0) notes.push(`migration: transfer rows lack ${listed(missing)}; left out`);
  // Per-round rows are "round N"; the "median" row repeats their median, so rounds win when there are any.
  const rounds = transfer.filter((row) => String(row["case"] ?? "").startsWith("round"));
  const source = rounds.length > 0 ? rounds : transfer;
  const values = source.flatMap((row) =>
    PATHS.flatMap((path) => {
      const gbps = numberOf(row[path.column]);
      return gbps === undefined ? [] : [{ path: path.label, GBps: gbps }];
    }),
  );
  const mib = numberOf(source[0]?.["MiB"]);
  const order = PATHS.map((p) => p.label);
  return {
    title: { text: "KV migration bandwidth vs loopback TCP", subtitle: [`${mib === undefined ? "" : `${mib} MiB of sigma-1.5b-shaped K and V, `}one process to another over loopback; bar: median, dots: rounds; higher is better`, provenance(migrate)] },
    data: { values },
    width: 380,
    height: 240,
    encoding: {
      y: { field: "path", type: "nominal", title: null, sort: order, axis: { labelLimit: 400 } },
      color: { field: "path", type: "nominal", legend: null, sort: order },
    },
    layer: [
      { mark: { type: "bar", opacity: 0.75 }, encoding: { x: { aggregate: "median", field: "GBps", type: "quantitative", title: "GB/s (10^9 bytes per second)" } } },
      { mark: { type: "point", filled: true, color: "black", size: 30 }, encoding: { x: { field: "GBps", type: "quantitative" }, color: { value: "black" } } },
      { mark: { type: "text", align: "left", dx: 8 }, encoding: { x: { aggregate: "max", field: "GBps", type: "quantitative" }, text: { aggregate: "median", field: "GBps", type: "quantitative", format: ".2f" }, color: { value: "black" } } },
    ],
  };
}

export const MIGRATION_PLOT: PlotDefinition = {
  name: "migration-vs-tcp",
  inputs: ["migrate"],
  build: (results, notes) => migrationSpec(results.get("migrate")!, notes),
};
