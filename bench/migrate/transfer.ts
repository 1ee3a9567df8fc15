/**
 * Part 1: migration bandwidth between two worker processes, against a plain
 * loopback TCP stream of the same bytes between two processes, in alternating
 * rounds. The workers run a KV twin of sigma-1.5b: its 26 layers, 4 K heads,
 * 16 V heads and head_dim 64 (so its blocks are sigma-1.5b's, 2.13 MB each in
 * f32), with a 256-wide residual stream so its weights fit beside two pools.
 * Each round fills the source with a fresh chain of `blocks` synthetic blocks
 * through ImportKv (the bytes are random: the transfer does not read them)
 * and asks it over the bus (migrate.request) to move the chain to the target.
 */
import { create } from "@bufbuild/protobuf";
import { encodeKvFrame, kvFrameShape, type KvComponent } from "@sigmaserve/kvcache";
import { KV_HASH_ALGORITHM, prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import { parseModelConfig, presetConfig, type ModelConfig } from "@sigmaserve/model/config";
import { makeDemoWeights, saveModelDir } from "@sigmaserve/model/weights";
import { coordv1, kvv1, workerv1 } from "@sigmaserve/proto";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../lib/mulberry32.js";
import { startBenchWorkers, type WorkerClient } from "./bench-workers.js";

const BLOCK_TOKENS = 16;

export function kvTwinOfSigma15b(): ModelConfig {
  const sigma = presetConfig("sigma-1.5b");
  return parseModelConfig({ ...sigma, vocab_size: 259, bos_token_id: 256, eos_token_id: 257, hidden_size: 256, intermediate_size: 256, aug_q_size: 384 });
}

export interface TransferRound {
  round: number;
  bytes: number;
  migrateMs: number;
  kCompleteMs: number;
  blocks: number;
  tcpMs: number;
  /** The same bytes as a plain grpc-js server stream between two processes, no KV work (grpc-loopback-peer.ts). */
  grpcMs: number;
}

/** Fills `client`'s cache with a chain of `blocks` blocks of random bytes; returns the chain's hashes. */
async function fillWithChain(client: WorkerClient, model: string, config: ModelConfig, blocks: number, seed: number): Promise<bigint[]> {
  const random = mulberry32(seed);
  const tokens = Array.from({ length: blocks * BLOCK_TOKENS }, () => Math.floor(random() * 256));
  const hashes = prefixBlockHashes(tokens, { blockSizeTokens: BLOCK_TOKENS, modelId: model });
  const data: Record<KvComponent, Float32Array[]> = { k: [], v: [] };
  for (const c of ["k", "v"] as const) {
    const shape = kvFrameShape(config, c, BLOCK_TOKENS);
    for (let i = 0; i < 2; i++) data[c].push(Float32Array.from({ length: shape.layers * shape.heads * shape.blockSizeTokens * shape.headDim }, () => random() - 0.5));
  }
  async function* stream(): AsyncGenerator<workerv1.ImportKvRequest> {
    yield create(workerv1.ImportKvRequestSchema, { event: { case: "header", value: { model, kvHash: { algorithm: KV_HASH_ALGORITHM, blockSizeTokens: BLOCK_TOKENS } } } });
    for (let start = 0; start < hashes.length; start += 4) {
      const group = hashes.slice(start, start + 4);
      for (const c of ["k", "v"] as const) {
        const payload = encodeKvFrame({ component: c, wireDtype: "f32", shape: kvFrameShape(config, c, BLOCK_TOKENS), blocks: group.map((hash, i) => ({ hash, data: data[c][(start + i) % 2]! })) });
        const blockIds = group.map((blockHash, i) => (start + i === 0 ? { blockHash } : { blockHash, parentBlockHash: hashes[start + i - 1]! }));
        yield create(workerv1.ImportKvRequestSchema, { event: { case: "frame", value: { component: c === "k" ? kvv1.KvComponent.K : kvv1.KvComponent.V, dtype: kvv1.KvDtype.F32, blocks: blockIds, payload } } });
      }
    }
  }
  const result = await client.importKv(stream(), { timeoutMs: 600_000 });
  if (result.blocksImported !== blocks) throw new Error(`the source imported ${result.blocksImported} of ${blocks} blocks (refused ${result.refusedBlockHashes.length})`);
  return hashes;
}

/** A loopback TCP stream of `bytes` between two fresh processes: ms from the first byte to the last. */
async function loopbackTcpMs(bytes: number): Promise<number> {
  const script = join(dirname(fileURLToPath(import.meta.url)), "loopback-peer.ts");
  const receiver = spawn(process.execPath, ["--import", "tsx", script, "receive", String(bytes)], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: receiver.stdout! })[Symbol.asyncIterator]();
  const port = Number(((await lines.next()).value as string).split(" ")[1]);
  const sender = spawn(process.execPath, ["--import", "tsx", script, "send", String(port), String(bytes)], { stdio: "inherit" });
  const ms = Number(((await lines.next()).value as string).split(" ")[1]);
  await Promise.all([once(sender, "exit"), once(receiver, "exit")]);
  return ms;
}

/** A plain grpc-js server stream of `bytes` between two fresh processes: ms from the call's start to its last message. */
async function loopbackGrpcMs(bytes: number): Promise<number> {
  const script = join(dirname(fileURLToPath(import.meta.url)), "grpc-loopback-peer.ts");
  const server = spawn(process.execPath, ["--import", "tsx", script, "serve"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = Number(((await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next()).value as string).split(" ")[1]);
    const client = spawn(process.execPath, ["--import", "tsx", script, "receive", String(port), String(bytes)], { stdio: ["ignore", "pipe", "inherit"] });
    const ms = Number(((await createInterface({ input: client.stdout! })[Symbol.asyncIterator]().next()).value as string).split(" ")[1]);
    await once(client, "exit");
    return ms;
  } finally {
    server.kill();
  }
}

export async function measureTransfer(options: { blocks: number; rounds: number; modelDir: string }): Promise<TransferRound[]> {
  const config = kvTwinOfSigma15b();
  const model = "sigma-1.5b-kv-twin";
  const dir = join(options.modelDir, model);
  await saveModelDir(dir, { config, weights: makeDemoWeights(config, 0), dtype: "f32" });
  const blockBytes = config.num_hidden_layers * (config.num_key_heads + config.num_value_heads) * BLOCK_TOKENS * config.head_dim * 4;
  // Room for one chain being imported while the last one is still cached, in each pool.
  const kvMib = Math.ceil((2.2 * options.blocks * blockBytes) / 2 ** 20);
  const workers = await startBenchWorkers({ workers: 2, policy: "kv_aware", modelDir: dir, workerFlags: ["--block-size", String(BLOCK_TOKENS), "--kv-device-mib", String(kvMib), "--max-message-mib", "256"] });
  const rounds: TransferRound[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the direction and which measurement goes first.
      const [source, target] = round % 2 === 0 ? [0, 1] : [1, 0];
      const hashes = await fillWithChain(workers.clients[source]!, model, config, options.blocks, 1_000 + round);
      const bytes = options.blocks * blockBytes;
      let done: coordv1.MigrationDone | undefined;
      const steps = {
        migrate: async () => {
          const result = await workers.bus.requestMigration(workers.ids[source]!, create(coordv1.MigrationRequestSchema, { targetWorkerId: workers.ids[target]!, blockHashes: hashes, requesterId: "bench" }), { timeoutMs: 600_000 });
          if (result.outcome !== coordv1.MigrationOutcome.DONE || result.done === undefined || result.done.blocksImported !== options.blocks) {
            throw new Error(`migration round ${round} did not complete: ${coordv1.MigrationOutcome[result.outcome]} ${result.reason} ${JSON.stringify(result.done, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
          }
          done = result.done;
        },
        tcp: async () => void (tcpMs = await loopbackTcpMs(bytes)),
        grpc: async () => void (grpcMs = await loopbackGrpcMs(bytes)),
      };
      let tcpMs = 0;
      let grpcMs = 0;
      // The three measurements take turns going first (the fill comes before the migration whatever its turn).
      const order = (["migrate", "tcp", "grpc"] as const).map((_, i, all) => all[(i + round) % all.length]!);
      for (const step of order) await steps[step]();
      const migrated = done!;
      rounds.push({ round, bytes: Number(migrated.bytesReceived), migrateMs: migrated.durationMs, kCompleteMs: migrated.kCompleteMs, blocks: options.blocks, tcpMs, grpcMs });
      process.stderr.write(`migrate: round ${round} (${order.join(", ")}): ${(Number(migrated.bytesReceived) / 2 ** 20).toFixed(0)} MiB in ${migrated.durationMs.toFixed(0)} ms (K in at ${migrated.kCompleteMs.toFixed(0)} ms); loopback TCP ${tcpMs.toFixed(0)} ms, plain grpc-js ${grpcMs.toFixed(0)} ms\n`);
    }
  } finally {
    await workers.stop();
  }
  return rounds;
}
