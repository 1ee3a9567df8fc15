/**
 * Drain with migration on three real workers in one process (real gRPC, the
 * in-memory bus). The test plays the router's part: it reads a long stream
 * from the drained worker, and when the stream ends handed over it replays
 * the tokens received so far on the worker the trailer names, exactly as
 * router-runtime's dispatcher does. Oracle: the same request run
 * uninterrupted on a worker of its own, with the same seed.
 */
import { GrpcStatusError, handoverTargetOf, type workerv1 } from "@sigmaserve/proto";
import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { BusWorkers, type WorkerClient } from "../testing/bus-workers.js";

const BLOCK = 4;
const workers = new BusWorkers();
after(() => workers.stopAll());
const start = (id: string) => workers.start(id, ["--block-size", String(BLOCK)]);

const PROMPT = Array.from({ length: 30 }, (_, i) => (i * 29 + 11) % 256);
const SAMPLING = { temperature: 0.9, topP: 0.95, seed: 1234n, maxTokens: 160, ignoreEos: true };

interface Received {
  tokens: number[];
  finish?: workerv1.GenerateResponse["event"] & { case: "finish" };
  error?: GrpcStatusError;
}

/** Reads a stream to its end; `onChunk` runs after each chunk (the test drains there). */
async function read(client: WorkerClient, requestId: string, prompt: number[], generated: number[] = [], onChunk?: (tokens: number[]) => void): Promise<Received> {
  const out: Received = { tokens: [] };
  try {
    for await (const m of client.generate({ requestId, model: "sigma-tiny", promptTokenIds: prompt, generatedTokenIds: generated, sampling: SAMPLING })) {
      if (m.event.case === "chunk") {
        out.tokens.push(...m.event.value.tokenIds);
        onChunk?.(out.tokens);
      } else if (m.event.case === "finish") out.finish = m.event;
    }
  } catch (err) {
    if (!(err instanceof GrpcStatusError)) throw err;
    out.error = err;
  }
  return out;
}

test("drain with migration - a running stream is handed over with its KV: the peer continues without recomputing it, token for token", async () => {
  const oracle = await start("oracle");
  const expected = await read(oracle.client, "solo", PROMPT);
  assert.equal(expected.tokens.length, SAMPLING.maxTokens);
  await oracle.runtime.stop();

  const a = await start("w-a");
  const b = await start("w-b");
  const c = await start("w-c");
  // A hot prefix of another tenant, cached on a only.
  const other = Array.from({ length: 21 }, (_, i) => (i * 13 + 5) % 256);
  await read(a.client, "other", other);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the peers' registry watches see all three

  let draining: Promise<void> | undefined;
  const first = await read(a.client, "long", PROMPT, [], (tokens) => {
    if (tokens.length >= 20) draining ??= a.runtime.drain(0, { migrate: true });
  });
  await draining;
  assert.equal(first.finish, undefined, "no finish from the drained worker");
  assert.equal(first.error?.code, status.UNAVAILABLE);
  const targetId = handoverTargetOf(first.error!.metadata);
  assert.ok(targetId === "w-b" || targetId === "w-c", `handed over to ${String(targetId)}`);
  assert.ok(first.tokens.length >= 20 && first.tokens.length < SAMPLING.maxTokens);
  assert.deepEqual(first.tokens, expected.tokens.slice(0, first.tokens.length));

  const target = [b, c].find((w) => w.id === targetId)!;
  const computedBefore = target.runtime.scheduler.stats().tokensComputedTotal;
  const rest = await read(target.client, "long", PROMPT, first.tokens);
  const known = PROMPT.length + first.tokens.length;
  // The migrated blocks cover every full block of the known tokens: the whole prompt is a hit, and the
  // target computes only the partial tail block once, then one token per step of the rest of the decode.
  assert.equal(rest.finish?.value.usage?.cachedPromptTokens, PROMPT.length);
  const computed = target.runtime.scheduler.stats().tokensComputedTotal - computedBefore;
  const tail = known - Math.floor((known - 1) / BLOCK) * BLOCK;
  assert.equal(computed, tail + (SAMPLING.maxTokens - first.tokens.length) - 1, `the target computed ${computed} tokens`);
  assert.deepEqual([...first.tokens, ...rest.tokens], expected.tokens, "one gap-free stream, the same as uninterrupted");

  // The hot prefix moved too: one of the peers now holds the other tenant's chain.
  const otherChain = a.runtime.kv.promptBlockHashes(other);
  assert.ok([b, c].some((w) => otherChain.every((h) => w.runtime.kv.holds(h))), "the hot chain was offered to a peer");
  assert.equal(a.runtime.workerLoad().state, 4 /* DRAINED */);
  assert.deepEqual(a.runtime.kv.usage().map((u) => u.usedBlocks), [0, 0]);
});
