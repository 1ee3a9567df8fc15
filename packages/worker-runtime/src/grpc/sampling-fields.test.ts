/**
 * The sampling fields of issue 14 through a real worker on loopback
 * (sigma-tiny), each against an oracle outside the worker: greedy decoding
 * with the reference forward pass (masked or penalised by hand, the vLLM/HF
 * rules spelled out here), and the byte tokenizer's one-shot decode.
 */
import { referenceForward } from "@sigmaserve/model/reference";
import { BYTE_EOS_TOKEN_ID, ByteTokenizer } from "@sigmaserve/model/tokenizer";
import { demoModel } from "@sigmaserve/model/weights";
import { createGrpcClient, inferencev1, workerv1, type ServiceClient } from "@sigmaserve/proto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { loadWorkerConfig } from "../config/worker-config.js";
import { startWorker, type WorkerRuntime } from "../worker-runtime.js";

type Client = ServiceClient<typeof workerv1.WorkerService>;
type Finish = inferencev1.GenerateFinish;

let counter = 0;
async function generate(client: Client, prompt: number[], sampling: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ tokens: number[]; text: string; finish: Finish }> {
  const tokens: number[] = [];
  let text = "";
  let finish: Finish | undefined;
  for await (const message of client.generate({ requestId: `s${counter++}`, model: "sigma-tiny", promptTokenIds: prompt, sampling, ...extra })) {
    if (message.event.case === "chunk") {
      tokens.push(...message.event.value.tokenIds);
      text += message.event.value.textDelta;
    } else if (message.event.case === "finish") finish = message.event.value;
  }
  assert.ok(finish);
  return { tokens, text, finish };
}

const { config, weights } = demoModel("sigma-tiny", 0);

/** Greedy decoding with the reference forward pass; `shape` edits each logits row (index = generated position) first. */
function referenceGreedy(prompt: number[], steps: number, shape: (row: Float32Array, position: number, known: number[]) => void = () => {}): number[] {
  const known = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const { logits } = referenceForward(config, weights, known);
    const row = Float32Array.from(logits.subarray((known.length - 1) * config.vocab_size, known.length * config.vocab_size));
    shape(row, i, known);
    let best = 0;
    for (let id = 1; id < row.length; id++) if (row[id]! > row[best]!) best = id;
    out.push(best);
    known.push(best);
  }
  return out;
}

const PROMPT = [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];
const tokenizer = new ByteTokenizer();

describe("worker - sampling fields", () => {
  let runtime: WorkerRuntime;
  let client: Client;
  let greedy: number[];
  before(async () => {
    // An f32 KV cache: the oracle is the f32 reference's greedy tokens (bf16, the default, agrees on these, but by measurement: bench/kv-dtype).
    runtime = await startWorker(loadWorkerConfig(["--preset", "sigma-tiny", "--block-size", "4", "--kv-dtype", "f32"], {}), pino({ level: "silent" }));
    client = createGrpcClient(workerv1.WorkerService, runtime.address);
    greedy = (await generate(client, PROMPT, { temperature: 0, maxTokens: 12, ignoreEos: true })).tokens;
    assert.deepEqual(greedy, referenceGreedy(PROMPT, 12), "the worker's greedy run is the reference's");
  });
  after(async () => {
    client.close();
    await runtime.stop();
  });

  test("stop_token_ids: the first sampled stop id ends the request as stop, is reported and counted, and its text is omitted unless include_stop_str_in_output", async () => {
    const stopId = greedy[3]!;
    const at = greedy.indexOf(stopId);
    const plain = await generate(client, PROMPT, { temperature: 0, maxTokens: 12, ignoreEos: true, stopTokenIds: [stopId] });
    assert.deepEqual(plain.tokens, greedy.slice(0, at + 1));
    assert.equal(plain.finish.finishReason, inferencev1.FinishReason.STOP);
    assert.equal(plain.finish.matchedStopTokenId, stopId);
    assert.equal(plain.finish.usage!.completionTokens, at + 1);
    assert.equal(plain.text, tokenizer.decode(greedy.slice(0, at)));
    const kept = await generate(client, PROMPT, { temperature: 0, maxTokens: 12, ignoreEos: true, stopTokenIds: [stopId], includeStopStrInOutput: true });
    assert.deepEqual(kept.tokens, plain.tokens);
    assert.equal(kept.text, tokenizer.decode(greedy.slice(0, at + 1)));
  });

  test("min_tokens: a stop id is masked until min_tokens tokens were generated (the reference, masked by hand)", async () => {
    const stopId = greedy[1]!;
    const minTokens = 6;
    const sampling = { temperature: 0, maxTokens: 12, ignoreEos: true, stopTokenIds: [stopId], minTokens };
    const expectedRun = referenceGreedy(PROMPT, 12, (row, position) => {
      if (position < minTokens) row[stopId] = -Infinity;
    });
    const stopAt = expectedRun.findIndex((id, i) => i >= minTokens && id === stopId);
    const expected = stopAt < 0 ? expectedRun : expectedRun.slice(0, stopAt + 1);
    const got = await generate(client, PROMPT, sampling);
    assert.deepEqual(got.tokens, expected);
    assert.ok(!got.tokens.slice(0, minTokens).includes(stopId));
    assert.equal(got.finish.finishReason, stopAt < 0 ? inferencev1.FinishReason.LENGTH : inferencev1.FinishReason.STOP);
  });

  test("min_tokens above max_tokens is capped, not refused: a prefill stage (max_tokens 1) still masks its one token", async () => {
    const stopId = greedy[0]!;
    const got = await generate(client, PROMPT, { temperature: 0, maxTokens: 1, ignoreEos: true, stopTokenIds: [stopId], minTokens: 5 });
    const expected = referenceGreedy(PROMPT, 1, (row) => {
      row[stopId] = -Infinity;
    });
    assert.deepEqual(got.tokens, expected);
    assert.equal(got.finish.finishReason, inferencev1.FinishReason.LENGTH);
  });

  test("min_tokens: EOS and stop ids are masked (ignore_eos off): at a hot temperature no request ends before min_tokens", async () => {
    // 100 stop ids of 259 tokens: without min_tokens nearly every draw run ends within a few tokens.
    const stopTokenIds = Array.from({ length: 100 }, (_, i) => i);
    let endedEarly = 0;
    for (let seed = 0n; seed < 6n; seed++) {
      const free = await generate(client, PROMPT, { temperature: 30, seed, maxTokens: 24, stopTokenIds });
      if (free.tokens.length < 20) endedEarly++;
      const got = await generate(client, PROMPT, { temperature: 30, seed, maxTokens: 24, stopTokenIds, minTokens: 20 });
      assert.ok(got.tokens.length >= 20, `seed ${seed}: ${got.tokens.length} tokens`);
      assert.ok(!got.tokens.slice(0, 20).some((id) => id === BYTE_EOS_TOKEN_ID || id < 100));
      const last = got.tokens.at(-1)!;
      const stopped = last === BYTE_EOS_TOKEN_ID || last < 100;
      assert.equal(got.finish.finishReason, stopped ? inferencev1.FinishReason.STOP : inferencev1.FinishReason.LENGTH);
      if (!stopped) assert.equal(got.tokens.length, 24);
    }
    assert.ok(endedEarly >= 5, `without min_tokens ${endedEarly} of 6 ended before 20 tokens`);
  });

  test("stop strings with min_tokens and include_stop_str_in_output follow the one-shot rule on the decoded text", async () => {
    const run = (await generate(client, PROMPT, { temperature: 0, maxTokens: 24, ignoreEos: true })).tokens;
    // A one-character stop string: the text of a token that occurs in the run (a byte < 0x80 is one character).
    const index = run.findIndex((id, i) => i >= 1 && id < 0x80);
    assert.ok(index >= 0, "the run holds an ASCII byte");
    const stop = String.fromCharCode(run[index]!);
    const firstAt = run.findIndex((id) => id === run[index]);
    const textOf = (n: number): string => tokenizer.decode(run.slice(0, n));
    const cut = await generate(client, PROMPT, { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop] });
    assert.equal(cut.finish.matchedStop, stop);
    assert.deepEqual(cut.tokens, run.slice(0, firstAt + 1));
    assert.equal(cut.text, textOf(firstAt));
    const included = await generate(client, PROMPT, { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop], includeStopStrInOutput: true });
    assert.equal(included.text, textOf(firstAt + 1));
    // With min_tokens past the first occurrence, the next occurrence at or after min_tokens ends it.
    const minTokens = firstAt + 1;
    const nextAt = run.findIndex((id, i) => i >= minTokens && id === run[index]);
    const late = await generate(client, PROMPT, { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop], minTokens });
    if (nextAt < 0) {
      assert.equal(late.finish.finishReason, inferencev1.FinishReason.LENGTH);
      assert.equal(late.text, textOf(24));
    } else {
      assert.equal(late.finish.finishReason, inferencev1.FinishReason.STOP);
      assert.deepEqual(late.tokens, run.slice(0, nextAt + 1));
      assert.equal(late.text, textOf(nextAt));
    }
  });

  test("repetition_penalty: greedy equals the reference with HF's rule applied to prompt and output ids", async () => {
    const penalty = 8;
    const expected = referenceGreedy(PROMPT, 16, (row, _position, known) => {
      for (const id of new Set(known)) row[id] = row[id]! > 0 ? row[id]! / penalty : row[id]! * penalty;
    });
    const got = await generate(client, PROMPT, { temperature: 0, maxTokens: 16, ignoreEos: true, repetitionPenalty: penalty });
    assert.deepEqual(got.tokens, expected);
    assert.notDeepEqual(expected, referenceGreedy(PROMPT, 16), "the penalty changes this run (else the test shows nothing)");
  });

  test("repetition_penalty and min_p: a seeded request gives the same tokens again, and after a replay of its first tokens", async () => {
    const sampling = { temperature: 1.2, seed: 99n, maxTokens: 20, ignoreEos: true, repetitionPenalty: 1.3, minP: 0.05, minTokens: 5 };
    const first = await generate(client, PROMPT, sampling);
    const again = await generate(client, PROMPT, sampling);
    assert.deepEqual(again.tokens, first.tokens);
    for (const at of [3, 8]) {
      const resumed = await generate(client, PROMPT, sampling, { generatedTokenIds: first.tokens.slice(0, at), generatedText: tokenizer.decode(first.tokens.slice(0, at)) });
      assert.deepEqual([...first.tokens.slice(0, at), ...resumed.tokens], first.tokens, `replay after ${at}`);
    }
  });

  test("skip_special_tokens: special tokens' text is left out by default and shown when false (the tokenizer's decode is the oracle)", async () => {
    // A hot temperature draws the three special ids (BOS, EOS, PAD) among 259 often; EOS does not stop with ignore_eos.
    let seed = 0n;
    let tokens: number[] = [];
    for (; seed < 40n; seed++) {
      tokens = (await generate(client, PROMPT, { temperature: 50, seed, maxTokens: 48, ignoreEos: true })).tokens;
      if (tokens.some((id) => id >= 256)) break;
    }
    assert.ok(tokens.some((id) => id >= 256), "a seed below 40 draws a special token");
    const skipped = await generate(client, PROMPT, { temperature: 50, seed, maxTokens: 48, ignoreEos: true });
    const shown = await generate(client, PROMPT, { temperature: 50, seed, maxTokens: 48, ignoreEos: true, skipSpecialTokens: false });
    assert.deepEqual(shown.tokens, skipped.tokens);
    assert.equal(skipped.text, tokenizer.decode(tokens, { skipSpecialTokens: true }));
    assert.equal(shown.text, tokenizer.decode(tokens, { skipSpecialTokens: false }));
    assert.match(shown.text, /<\|(bos|eos|pad)\|>/);
  });

  test("bad values are INVALID_ARGUMENT naming the field", async () => {
    for (const [sampling, field] of [
      [{ repetitionPenalty: 0 }, "sampling.repetition_penalty"],
      [{ minP: 1.5 }, "sampling.min_p"],
    ] as const) {
      await assert.rejects(generate(client, PROMPT, sampling), (err: unknown) => {
        assert.match(String(err), new RegExp(field.replace(".", "\\.")));
        return true;
      });
    }
  });
});
