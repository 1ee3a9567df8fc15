/**
 * Part 2: moving a cached prefix against computing it again, on the demo
 * model (sigma-tiny, with its context raised so 16K-token prompts fit; the
 * weights are the preset's). Two worker processes. Per prefix length and
 * round, with fresh prompts: recompute = a cold request on worker B (prefill
 * of the whole prompt, one token out); migrate = worker A computes the prompt
 * (untimed), then B gets A's blocks through migrate.request, then serves the
 * same prompt as a cache hit; timed from the request to the hit's last token.
 * The order of the two alternates between rounds.
 */
import { create } from "@bufbuild/protobuf";
import { prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { parseModelConfig, presetConfig } from "@sigmaserve/model/config";
import { makeDemoWeights, saveModelDir } from "@sigmaserve/model/weights";
import { coordv1 } from "@sigmaserve/proto";
import { join } from "node:path";
import { mulberry32 } from "../lib/mulberry32.js";
import { runOnWorker, startBenchWorkers } from "./bench-workers.js";

const BLOCK_TOKENS = 16;

export interface RecomputeRound {
  tokens: number;
  round: number;
  recomputeMs: number;
  migrateMs: number;
  /** Of migrateMs: the migration request alone (handshake, pull, done). */
  pullMs: number;
  hitCachedTokens: number;
}

export async function measureRecompute(options: { lengths: number[]; rounds: number; modelDir: string }): Promise<RecomputeRound[]> {
  const longest = Math.max(...options.lengths);
  const config = parseModelConfig({ ...presetConfig("sigma-tiny"), max_position_embeddings: 2 ** Math.ceil(Math.log2(longest + 64)) });
  const model = "sigma-tiny-long";
  const dir = join(options.modelDir, model);
  await saveModelDir(dir, { config, weights: makeDemoWeights(config, 0), dtype: "f32" });
  const workers = await startBenchWorkers({ workers: 2, policy: "kv_aware", modelDir: dir, workerFlags: ["--block-size", String(BLOCK_TOKENS), "--kv-device-mib", "512", "--max-tokens-limit", "16"] });
  const [a, b] = workers.clients as [(typeof workers.clients)[number], (typeof workers.clients)[number]];
  const random = mulberry32(77);
  const prompt = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 256));
  const rounds: RecomputeRound[] = [];
  try {
    await runOnWorker(a, "warm-a", model, prompt(64));
    await runOnWorker(b, "warm-b", model, prompt(64));
    for (const tokens of options.lengths) {
      for (let round = 0; round < options.rounds; round++) {
        const recompute = async () => (await runOnWorker(b, `cold-${tokens}-${round}`, model, prompt(tokens + 1))).ms;
        const migrate = async () => {
          const p = prompt(tokens + 1);
          await runOnWorker(a, `src-${tokens}-${round}`, model, p);
          const started = performance.now();
          const result = await workers.bus.requestMigration(workers.ids[0]!, create(coordv1.MigrationRequestSchema, { targetWorkerId: workers.ids[1]!, blockHashes: prefixBlockHashes(p, { blockSizeTokens: BLOCK_TOKENS, modelId: model }), requesterId: "bench" }), { timeoutMs: 600_000 });
          const pullMs = performance.now() - started;
          if (result.outcome !== coordv1.MigrationOutcome.DONE) throw new Error(`migration of ${tokens} tokens: ${coordv1.MigrationOutcome[result.outcome]} ${result.reason}`);
          const hit = await runOnWorker(b, `hit-${tokens}-${round}`, model, p);
          return { migrateMs: performance.now() - started, pullMs, hitCachedTokens: hit.cached };
        };
        let recomputeMs: number;
        let migrated: Awaited<ReturnType<typeof migrate>>;
        if (round % 2 === 0) {
          recomputeMs = await recompute();
          migrated = await migrate();
        } else {
          migrated = await migrate();
          recomputeMs = await recompute();
        }
        rounds.push({ tokens, round, recomputeMs, ...migrated });
        process.stderr.write(`migrate: ${tokens} tokens, round ${round}: recompute ${recomputeMs.toFixed(1)} ms, migrate ${migrated.migrateMs.toFixed(1)} ms (pull ${migrated.pullMs.toFixed(1)} ms, hit ${migrated.hitCachedTokens} tokens)\n`);
      }
    }
  } finally {
    await workers.stop();
  }
  return rounds;
}
