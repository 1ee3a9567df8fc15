/**
 * The worker through a real gRPC client on loopback: correctness against the
 * reference forward pass, batch invariance, the scheduler under KV pressure,
 * cancellation and deadlines, and bad input.
 */
import { status } from "@grpc/grpc-js";
import { referenceForward } from "@sigmaserve/model/reference";
import { demoModel } from "@sigmaserve/model/weights";
import { GrpcStatusError, createGrpcClient, fieldViolationsOf, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "./config/worker-config.js";
import { startWorker, type WorkerRuntime } from "./worker-runtime.js";

const logger = pino({ level: "silent" });

async function start(flags: string[]): Promise<{ runtime: WorkerRuntime; client: ServiceClient<typeof workerv1.WorkerService> }> {
  const runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", ...flags], {}), logger);
  return { runtime, client: createGrpcClient(workerv1.WorkerService, runtime.address) };
}

interface Outcome {
  tokens: number[];
  text: string;
  finish: workerv1.GenerateResponse["event"] & { case: "finish" };
}

let requestCounter = 0;
async function generate(
  client: ServiceClient<typeof workerv1.WorkerService>,
  prompt: number[],
  sampling: Record<string, unknown> = {},
  options: { signal?: AbortSignal; timeoutMs?: number; extra?: Record<string, unknown> } = {},
): Promise<Outcome> {
  const tokens: number[] = [];
  let text = "";
  let finish: Outcome["finish"] | undefined;
  for await (const message of client.generate(
    { requestId: `t${requestCounter++}`, model: "sigma-tiny", promptTokenIds: prompt, sampling: { ignoreEos: true, ...sampling }, ...options.extra },
    { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
  )) {
    if (message.event.case === "chunk") {
      assert.equal(message.event.value.completionOffset, tokens.length, "chunks have no gaps");
      tokens.push(...message.event.value.tokenIds);
      text += message.event.value.textDelta;
    } else if (message.event.case === "finish") finish = message.event;
  }
  assert.ok(finish, "the stream ends with a finish message");
  return { tokens, text, finish };
}

/** Greedy decoding with the reference forward pass: the independent oracle. */
function referenceGreedy(prompt: number[], steps: number): number[] {
  const { config, weights } = demoModel("sigma-tiny", 0);
  const tokens = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const { logits } = referenceForward(config, weights, tokens);
    const row = logits.subarray((tokens.length - 1) * config.vocab_size);
    let best = 0;
    for (let id = 1; id < config.vocab_size; id++) if (row[id]! > row[best]!) best = id;
    out.push(best);
    tokens.push(best);
  }
  return out;
}

const usedBlocks = async (client: ServiceClient<typeof workerv1.WorkerService>) =>
  (await client.getLoad({})).load!.kvUsage.reduce((sum, u) => sum + u.usedBlocks, 0);

const prompts = Array.from({ length: 20 }, (_, r) => Array.from({ length: 12 + (r % 7) * 5 }, (_, i) => (r * 31 + i * 17 + 3) % 256));

describe("worker - generation", () => {
  let runtime: WorkerRuntime;
  let client: ServiceClient<typeof workerv1.WorkerService>;
  // An f32 KV cache: the oracle is the f32 reference's greedy tokens (the bf16 default is measured against it in bench/kv-dtype).
  before(async () => ({ runtime, client } = await start(["--block-size", "4", "--max-batch-tokens", "64", "--kv-dtype", "f32"])));
  after(async () => {
    client.close();
    await runtime.stop();
  });

  test("worker - greedy tokens equal a greedy decode of the reference forward pass", async () => {
    const prompt = Array.from("Hello, DiffQKV", (c) => c.charCodeAt(0));
    const { tokens, finish } = await generate(client, prompt, { temperature: 0, maxTokens: 8 });
    assert.deepEqual(tokens, referenceGreedy(prompt, 8));
    assert.equal(finish.value.finishReason, 2 /* LENGTH */);
    assert.deepEqual({ ...finish.value.usage, $typeName: undefined }, { $typeName: undefined, promptTokens: prompt.length, completionTokens: 8, cachedPromptTokens: 0 });
  });

  test("worker - 16 concurrent greedy requests get exactly their tokens alone", async () => {
    const alone = [];
    for (const prompt of prompts.slice(0, 16)) alone.push((await generate(client, prompt, { temperature: 0, maxTokens: 12 })).tokens);
    const together = await Promise.all(prompts.slice(0, 16).map((prompt) => generate(client, prompt, { temperature: 0, maxTokens: 12 })));
    assert.deepEqual(together.map((o) => o.tokens), alone);
  });

  test("worker - 16 concurrent seeded sampled requests get exactly their tokens alone", async () => {
    const sampling = (i: number) => ({ temperature: 0.9, topP: 0.95, topK: 50, seed: BigInt(1000 + i), maxTokens: 12 });
    const alone = [];
    for (const [i, prompt] of prompts.slice(0, 16).entries()) alone.push((await generate(client, prompt, sampling(i))).tokens);
    const together = await Promise.all(prompts.slice(0, 16).map((prompt, i) => generate(client, prompt, sampling(i))));
    assert.deepEqual(together.map((o) => o.tokens), alone);
  });

  test("worker - a repeated prefix is served from the cache and reported as cached tokens", async () => {
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 7 + 1) % 256);
    await generate(client, prompt, { temperature: 0, maxTokens: 2 });
    const again = await generate(client, [...prompt, 5, 6], { temperature: 0, maxTokens: 2 });
    assert.equal(again.finish.value.usage!.cachedPromptTokens, 40);
  });

  test("worker - a cancelled stream frees its blocks at once", async () => {
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const message of client.generate(
          { requestId: "cancel-me", model: "sigma-tiny", promptTokenIds: prompts[0]!, sampling: { ignoreEos: true, maxTokens: 1000 } },
          { signal: controller.signal },
        )) {
          if (message.event.case === "chunk" && ++seen === 3) controller.abort();
        }
      })(),
      (err: unknown) => err instanceof GrpcStatusError && err.code === status.CANCELLED,
    );
    for (let i = 0; i < 50 && (await usedBlocks(client)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await usedBlocks(client), 0);
  });

  test("worker - a deadline that passes gives DEADLINE_EXCEEDED and frees the blocks", async () => {
    await assert.rejects(generate(client, prompts[1]!, { maxTokens: 2000 - 40 }, { timeoutMs: 150 }), (err: unknown) => err instanceof GrpcStatusError && err.code === status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 50 && (await usedBlocks(client)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await usedBlocks(client), 0);
  });

  test("worker - bad input gets INVALID_ARGUMENT with a BadRequest detail naming the field, and the worker stays up", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ promptTokenIds: [] }, "prompt_token_ids", /^must not be empty$/],
      [{ promptTokenIds: Array.from({ length: 2048 }, () => 1) }, "prompt_token_ids", /^2048 prompt tokens leave no room in the context of 2048 tokens$/],
      [{ promptTokenIds: [1, 2, 300] }, "prompt_token_ids[2]", /^300 is outside the vocabulary \[0, 259\)$/],
      [{ sampling: { maxTokens: 0 } }, "sampling.max_tokens", /^must be at least 1, got 0 \(0 is allowed only with sampling\.prompt_logprobs set\)$/],
      [{ sampling: { maxTokens: 100_000 } }, "sampling.max_tokens", /^must be at most /],
      [{ sampling: { temperature: -1 } }, "sampling.temperature", /^must be >= 0, got -1$/],
      [{ sampling: { temperature: Infinity } }, "sampling.temperature", /^must be a finite number, got Infinity$/],
      [{ sampling: { topP: 0 } }, "sampling.top_p", /^must be in \(0, 1\], got 0$/],
      [{ sampling: { topP: 1.5 } }, "sampling.top_p", /^must be in \(0, 1\], got 1.5$/],
      [{ model: "gpt-9" }, "model", /^unknown model "gpt-9"; this worker serves "sigma-tiny"$/],
      [{ requestId: "" }, "request_id", /^must not be empty$/],
    ];
    for (const [change, field, description] of cases) {
      const request = { requestId: `bad${requestCounter++}`, model: "sigma-tiny", promptTokenIds: [1, 2, 3], ...change };
      await assert.rejects(
        (async () => {
          for await (const _ of client.generate(request as never));
        })(),
        (err: unknown) => {
          assert.ok(err instanceof GrpcStatusError, String(err));
          assert.equal(err.code, status.INVALID_ARGUMENT, `${JSON.stringify(change)} → ${status[err.code]}: ${err.details}`);
          const violations = fieldViolationsOf(err);
          assert.equal(violations.length, 1, `${JSON.stringify(change)}: ${JSON.stringify(violations)}`);
          assert.equal(violations[0]!.field, field);
          assert.match(violations[0]!.description, description);
          assert.equal(err.details, `${field}: ${violations[0]!.description}`, "the message is the same violation for people");
          return true;
        },
      );
    }
    assert.equal(await usedBlocks(client), 0);
    assert.equal((await generate(client, [1, 2, 3], { temperature: 0, maxTokens: 2 })).tokens.length, 2);
  });

  test("worker - GetInfo reports the model, the pools per component and tier, and the hash", async () => {
    const { info } = await client.getInfo({});
    assert.equal(info!.model!.id, "sigma-tiny");
    assert.equal(info!.model!.numKeyHeads, 1);
    assert.equal(info!.model!.numValueHeads, 4);
    assert.equal(info!.kvHash!.algorithm, "sha256-trunc64/v1");
    assert.deepEqual(info!.kvCapacity.map((c) => [c.component, c.tier]), [
      [1, 1],
      [2, 1],
    ]);
  });
});

describe("worker - under KV pressure", () => {
  let runtime: WorkerRuntime;
  let client: ServiceClient<typeof workerv1.WorkerService>;
  // sigma-tiny, block 4, bf16 pools (the default): K block 4·1·4·32·2 = 1 KiB, V block 4 KiB: 5 KiB a block.
  // 0.3 MiB holds about 60 blocks = 240 tokens: about three of these requests at their longest.
  before(async () => ({ runtime, client } = await start(["--block-size", "4", "--kv-device-mib", "0.3", "--max-batch-tokens", "128"])));
  after(async () => {
    client.close();
    await runtime.stop();
  });

  test("worker - 20 concurrent requests in a cache for about 3 all finish with their tokens alone, with preemptions", async () => {
    const long = prompts.map((p) => [...p, ...p].slice(0, 40));
    const alone = [];
    for (const prompt of long.slice(0, 20)) alone.push((await generate(client, prompt, { temperature: 0, maxTokens: 30 })).tokens);
    const before = (await client.getLoad({})).load!.preemptionsTotal;
    const together = await Promise.all(long.slice(0, 20).map((prompt) => generate(client, prompt, { temperature: 0, maxTokens: 30 })));
    assert.deepEqual(together.map((o) => o.tokens), alone);
    const preemptions = (await client.getLoad({})).load!.preemptionsTotal - before;
    assert.ok(preemptions > 0n, "the cache was small enough to force preemptions");
    assert.equal(await usedBlocks(client), 0);
  });
});
