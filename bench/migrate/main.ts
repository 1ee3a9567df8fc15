/**
 * `npm run bench -- migrate`: KV migration between worker processes, in one run.
 *
 * 1. transfer: GB/s of a migration of sigma-1.5b-shaped blocks (≥512 MiB,
 *    DRAM-bound) from one worker process to another, against a loopback TCP
 *    stream of the same bytes between two processes and a plain grpc-js
 *    stream of them (the transport alone, no KV work); and when K was complete
 *    (the target could decode once V lands) against the end of V.
 * 2. recompute: migrating a cached prefix against recomputing it, 1K, 4K and
 *    16K tokens, on the demo model.
 * 3. drain: a worker holding N hot prefixes drained under traffic, with and
 *    without migration: time to drained, failed requests, hit rate after.
 *
 * Every figure is a median over alternating rounds, with its spread. Flags:
 * --parts transfer,recompute,drain  --blocks 256  --rounds 3  --lengths 1024,4096,16384
 * --recompute-rounds 2  --tenants 12  --prefix-tokens 512
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { measureDrain, type DrainRun } from "./drain.js";
import { measureRecompute } from "./recompute.js";
import { measureTransfer } from "./transfer.js";

const TARGET_MIGRATION_VS_TCP_MIN = 0.5;
const TARGET_MIGRATE_VS_RECOMPUTE_4K_MAX = 0.2;

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const spread = (values: number[]) => `${Math.min(...values).toFixed(3)}..${Math.max(...values).toFixed(3)}`;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      parts: { type: "string", default: "transfer,recompute,drain" },
      blocks: { type: "string", default: "256" },
      rounds: { type: "string", default: "3" },
      lengths: { type: "string", default: "1024,4096,16384" },
      "recompute-rounds": { type: "string", default: "2" },
      tenants: { type: "string", default: "12" },
      "prefix-tokens": { type: "string", default: "512" },
    },
    strict: true,
  });
  const parts = new Set(values.parts.split(","));
  const config = {
    blocks: Number(values.blocks),
    rounds: Number(values.rounds),
    lengths: values.lengths.split(",").map(Number),
    recomputeRounds: Number(values["recompute-rounds"]),
    tenants: Number(values.tenants),
    prefixTokens: Number(values["prefix-tokens"]),
  };
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const modelDir = await mkdtemp(join(tmpdir(), "sigmaserve-migrate-bench-"));
  try {
    if (parts.has("transfer")) {
      const rounds = await measureTransfer({ blocks: config.blocks, rounds: config.rounds, modelDir });
      const gbps = rounds.map((r) => r.bytes / r.migrateMs / 1e6);
      const tcp = rounds.map((r) => r.bytes / r.tcpMs / 1e6);
      const grpc = rounds.map((r) => r.bytes / r.grpcMs / 1e6);
      const vsTcp = rounds.map((r) => r.tcpMs / r.migrateMs);
      const vsGrpc = rounds.map((r) => r.grpcMs / r.migrateMs);
      const grpcVsTcp = rounds.map((r) => r.tcpMs / r.grpcMs);
      const kShare = rounds.map((r) => r.kCompleteMs / r.migrateMs);
      for (const r of rounds) {
        rows.push({ part: "transfer", case: `round ${r.round}`, MiB: Math.round(r.bytes / 2 ** 20), migrate_ms: round3(r.migrateMs), k_complete_ms: round3(r.kCompleteMs), tcp_ms: round3(r.tcpMs), grpc_ms: round3(r.grpcMs), migrate_GBps: round3(r.bytes / r.migrateMs / 1e6), tcp_GBps: round3(r.bytes / r.tcpMs / 1e6), grpc_GBps: round3(r.bytes / r.grpcMs / 1e6) });
      }
      rows.push({ part: "transfer", case: "median", migrate_GBps: round3(median(gbps)), tcp_GBps: round3(median(tcp)), grpc_GBps: round3(median(grpc)), spread: `migrate/tcp ${spread(vsTcp)}, migrate/grpc ${spread(vsGrpc)}, grpc/tcp ${spread(grpcVsTcp)}` });
      ratios["migration_vs_loopback_tcp"] = round3(median(vsTcp));
      ratios["migration_vs_plain_grpc"] = round3(median(vsGrpc));
      ratios["plain_grpc_vs_loopback_tcp"] = round3(median(grpcVsTcp));
      ratios["k_complete_vs_end_of_v"] = round3(median(kShare));
    }
    if (parts.has("recompute")) {
      const rounds = await measureRecompute({ lengths: config.lengths, rounds: config.recomputeRounds, modelDir });
      for (const tokens of config.lengths) {
        const mine = rounds.filter((r) => r.tokens === tokens);
        const ratio = mine.map((r) => r.migrateMs / r.recomputeMs);
        rows.push({ part: "recompute", case: `${tokens} tokens`, recompute_ms: round3(median(mine.map((r) => r.recomputeMs))), migrate_ms: round3(median(mine.map((r) => r.migrateMs))), pull_ms: round3(median(mine.map((r) => r.pullMs))), hit_tokens: median(mine.map((r) => r.hitCachedTokens)), spread: `migrate/recompute ${spread(ratio)}` });
        ratios[`migrate_vs_recompute_${tokens}`] = round3(median(ratio));
      }
    }
    if (parts.has("drain")) {
      const runs: DrainRun[] = [];
      // Without first, then with, then without again: the "without" figure is the median of two.
      for (const migrate of [false, true, false, true]) runs.push(await measureDrain({ tenants: config.tenants, prefixTokens: config.prefixTokens, migrate }));
      for (const r of runs) rows.push({ part: "drain", case: r.migrate ? "with migration" : "without", tenants: r.tenants, drain_ms: round3(r.drainMs), failed: `${r.failedDuring}/${r.requestsDuring}`, hit_rate_after: round3(r.hitRateAfter) });
      const hit = (m: boolean) => median(runs.filter((r) => r.migrate === m).map((r) => r.hitRateAfter));
      ratios["drain_hit_rate_after_with_vs_without_migration"] = round3(hit(true) / Math.max(hit(false), 1e-9));
      ratios["drain_failed_requests"] = runs.reduce((sum, r) => sum + r.failedDuring, 0);
    }
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
  if (ratios["migration_vs_loopback_tcp"] !== undefined) {
    process.stderr.write(`migrate: migration ${ratios["migration_vs_loopback_tcp"]}x loopback TCP (target >= ${TARGET_MIGRATION_VS_TCP_MIN}); ${ratios["migration_vs_plain_grpc"]}x a plain grpc-js stream, itself ${ratios["plain_grpc_vs_loopback_tcp"]}x TCP\n`);
  }
  if (ratios["migrate_vs_recompute_4096"] !== undefined) process.stderr.write(`migrate: at 4K tokens, migration ${ratios["migrate_vs_recompute_4096"]}x recompute (target <= ${TARGET_MIGRATE_VS_RECOMPUTE_4K_MAX})\n`);
  return { name: "migrate", config: { ...config, targets: { migrationVsTcpMin: TARGET_MIGRATION_VS_TCP_MIN, migrateVsRecompute4kMax: TARGET_MIGRATE_VS_RECOMPUTE_4K_MAX } }, rows, ratios };
}
