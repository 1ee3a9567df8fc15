/**
 * Prompt logprobs (issue 14, item 2: lm-eval's loglikelihood through echo +
 * max_tokens 0 + logprobs) through a real worker on loopback (sigma-tiny).
 * The oracle is outside the worker: the reference forward pass's logits for
 * every prompt position, log-softmaxed here in f64 and ranked by hand. The
 * worker runs 4-token blocks and 8-token steps, so a 21-token prompt is
 * computed in three chunks, and a prompt whose first blocks are cached must
 * still be computed whole.
 */
import { status } from "@grpc/grpc-js";
import { referenceForward } from "@sigmaserve/model/reference";
import { demoModel } from "@sigmaserve/model/weights";
import { GrpcStatusError, createGrpcClient, inferencev1, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker, type WorkerRuntime } from "../worker-runtime.js";

type Client = ServiceClient<typeof workerv1.WorkerService>;
type Finish = inferencev1.GenerateFinish;

const TOLERANCE = 1e-3;
/** The oracle is the f32 reference, so the worker's KV cache is f32 too (bf16, the default, moves logits by up to ~2^-8 of their scale: bench/kv-dtype). */
const F32_KV = ["--kv-dtype", "f32"];
const { config, weights } = demoModel("sigma-tiny", 0);
/** 21 tokens: three 8-token steps, five full 4-token blocks. */
const PROMPT = Array.from({ length: 21 }, (_, i) => (i * 37 + 11) % 256);

let counter = 0;
async function generate(client: Client, prompt: number[], sampling: Record<string, unknown>): Promise<{ tokens: number[]; chunks: number; finish: Finish }> {
  const tokens: number[] = [];
  let chunks = 0;
  let finish: Finish | undefined;
  for await (const message of client.generate({ requestId: `p${counter++}`, model: "sigma-tiny", promptTokenIds: prompt, sampling })) {
    if (message.event.case === "chunk") {
      chunks++;
      tokens.push(...message.event.value.tokenIds);
    } else if (message.event.case === "finish") finish = message.event.value;
  }
  assert.ok(finish);
  return { tokens, chunks, finish };
}

/** The oracle: per position p >= 1, log-softmax (f64) of the reference's row p - 1, the prompt token's value and the row's ranking. */
function referencePromptLogprobs(prompt: number[]): { logprob: number; ranked: { tokenId: number; logprob: number }[] }[] {
  const { logits } = referenceForward(config, weights, prompt);
  const vocab = config.vocab_size;
  const out: { logprob: number; ranked: { tokenId: number; logprob: number }[] }[] = [];
  for (let p = 1; p < prompt.length; p++) {
    const row = Array.from(logits.subarray((p - 1) * vocab, p * vocab));
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0));
    const ranked = row.map((x, tokenId) => ({ tokenId, logprob: x - logZ })).sort((a, b) => b.logprob - a.logprob || a.tokenId - b.tokenId);
    out.push({ logprob: row[prompt[p]!]! - logZ, ranked });
  }
  return out;
}

/** The worker's entries against the oracle: ids, values within TOLERANCE, and each top-N pick as good as the oracle's pick of that rank. */
function assertMatchesReference(got: inferencev1.TokenLogprob[], prompt: number[], topN: number): void {
  const want = referencePromptLogprobs(prompt);
  assert.equal(got.length, prompt.length, "one entry per prompt token");
  assert.deepEqual(got.map((e) => e.tokenId), prompt);
  assert.deepEqual([got[0]!.logprob, got[0]!.topLogprobs.length], [0, 0], "nothing precedes the first token");
  for (let p = 1; p < prompt.length; p++) {
    const entry = got[p]!;
    const oracle = want[p - 1]!;
    assert.ok(Math.abs(entry.logprob - oracle.logprob) <= TOLERANCE, `position ${p}: ${entry.logprob} vs ${oracle.logprob}`);
    assert.equal(entry.topLogprobs.length, topN);
    entry.topLogprobs.forEach((top, rank) => {
      const exact = oracle.ranked.find((r) => r.tokenId === top.tokenId)!;
      assert.ok(Math.abs(top.logprob - exact.logprob) <= TOLERANCE, `position ${p} rank ${rank}: value`);
      // The same token as the oracle's at this rank, unless the two are tied within float tolerance.
      assert.ok(Math.abs(exact.logprob - oracle.ranked[rank]!.logprob) <= TOLERANCE, `position ${p} rank ${rank}: ${top.tokenId} vs ${oracle.ranked[rank]!.tokenId}`);
    });
  }
}

describe("worker - prompt logprobs", () => {
  let runtime: WorkerRuntime;
  let client: Client;
  before(async () => {
    runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--max-batch-tokens", "8", ...F32_KV], {}), pino({ level: "silent" }));
    client = createGrpcClient(workerv1.WorkerService, runtime.address);
  });
  after(async () => {
    client.close();
    await runtime.stop();
  });

  test("max_tokens 0 with prompt_logprobs scores the prompt (three prefill chunks): no chunk, LENGTH, 0 completion tokens, the reference's logprobs", async () => {
    const scored = await generate(client, PROMPT, { maxTokens: 0, promptLogprobs: 3 });
    assert.equal(scored.chunks, 0);
    assert.equal(scored.finish.finishReason, inferencev1.FinishReason.LENGTH);
    assert.deepEqual([scored.finish.usage!.promptTokens, scored.finish.usage!.completionTokens], [PROMPT.length, 0]);
    assertMatchesReference(scored.finish.promptLogprobs, PROMPT, 3);
  });

  test("a prompt partly in the prefix cache is computed whole for its logprobs, and still feeds the cache", async () => {
    const prompt = [...PROMPT.slice(0, 12), 5, 6, 7, 8, 9, 10];
    await generate(client, PROMPT.slice(0, 13), { maxTokens: 1, temperature: 0 }); // caches the first 12 tokens (3 blocks)
    const plain = await generate(client, prompt, { maxTokens: 1, temperature: 0 });
    assert.equal(plain.finish.usage!.cachedPromptTokens, 12, "the prefix is cached");
    const scored = await generate(client, prompt, { maxTokens: 0, promptLogprobs: 0 });
    assert.equal(scored.finish.usage!.cachedPromptTokens, 0, "no cache hit used");
    assertMatchesReference(scored.finish.promptLogprobs, prompt, 0);
    const after = await generate(client, prompt, { maxTokens: 1, temperature: 0 });
    assert.equal(after.finish.usage!.cachedPromptTokens, 16, "its own blocks went into the cache");
  });

  test("prompt_logprobs with generation: the same tokens as without, and the prompt's logprobs in the finish", async () => {
    const plain = await generate(client, PROMPT, { maxTokens: 3, temperature: 0, ignoreEos: true });
    const both = await generate(client, PROMPT, { maxTokens: 3, temperature: 0, ignoreEos: true, promptLogprobs: 5 });
    assert.deepEqual(both.tokens, plain.tokens);
    assert.equal(both.finish.usage!.completionTokens, 3);
    assertMatchesReference(both.finish.promptLogprobs, PROMPT, 5);
    assert.deepEqual(plain.finish.promptLogprobs, [], "none unless asked");
  });

  test("a one-token prompt scores to one empty entry", async () => {
    const scored = await generate(client, [42], { maxTokens: 0, promptLogprobs: 2 });
    assert.deepEqual(
      scored.finish.promptLogprobs.map((e) => [e.tokenId, e.logprob, e.topLogprobs.length]),
      [[42, 0, 0]],
    );
  });

  test("max_tokens 0 without prompt_logprobs, and prompt_logprobs above 20, are INVALID_ARGUMENT naming the field", async () => {
    const invalid = (field: string) => (err: unknown) => err instanceof GrpcStatusError && err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}: `);
    await assert.rejects(generate(client, PROMPT, { maxTokens: 0 }), invalid("sampling.max_tokens"));
    await assert.rejects(generate(client, PROMPT, { maxTokens: 0, logprobs: 5 }), invalid("sampling.max_tokens"));
    await assert.rejects(generate(client, PROMPT, { maxTokens: 0, promptLogprobs: 21 }), invalid("sampling.prompt_logprobs"));
  });
});

describe("worker - prompt logprobs under KV pressure", () => {
  let runtime: WorkerRuntime;
  let client: Client;
  // About 60 blocks of 4 tokens (see worker.test.ts): preemptions, and recomputes of half-scored prompts.
  before(async () => {
    runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--kv-device-mib", "0.6", "--max-batch-tokens", "16", ...F32_KV], {}), pino({ level: "silent" }));
    client = createGrpcClient(workerv1.WorkerService, runtime.address);
  });
  after(async () => {
    client.close();
    await runtime.stop();
  });

  test("requests preempted while their prompt is scored still return the reference's prompt logprobs", async () => {
    const prompts = Array.from({ length: 12 }, (_, r) => Array.from({ length: 40 }, (_, i) => (i * 31 + r * 17 + 3) % 256));
    const before = (await client.getLoad({})).load!.preemptionsTotal;
    const results = await Promise.all(prompts.map((prompt, r) => generate(client, prompt, r % 2 === 0 ? { maxTokens: 30, temperature: 0, ignoreEos: true, promptLogprobs: 1 } : { maxTokens: 30, temperature: 0, ignoreEos: true })));
    assert.ok((await client.getLoad({})).load!.preemptionsTotal > before, "the cache was too small for all of them at once");
    results.forEach((result, r) => {
      assert.equal(result.finish.finishReason, inferencev1.FinishReason.LENGTH);
      if (r % 2 === 0) assertMatchesReference(result.finish.promptLogprobs, prompts[r]!, 1);
      else assert.deepEqual(result.finish.promptLogprobs, []);
    });
  });
});
