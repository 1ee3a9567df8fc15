/**
 * Prompt logprobs out of the batch step, against the reference forward pass
 * (logits for every position, log-softmaxed here in f64): row i of a chunk
 * scores the prompt token after it, whatever the chunking, and a sequence
 * that asks for them beside one that does not leaves the other's logits as
 * they were.
 */
import { KvCacheManager } from "@sigmaserve/kvcache";
import { referenceForward } from "@sigmaserve/model/reference";
import { OrtDenseModel } from "@sigmaserve/model/runtime";
import { demoModel, type LoadedModel } from "@sigmaserve/model/weights";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JsPagedAttention } from "../attention/js-paged-attention.js";
import type { PromptTokenLogprob } from "../sampler/prompt-logprobs.js";
import { ModelRunner } from "./model-runner.js";

const TOLERANCE = 1e-3;
const BLOCK = 4;

function kvFor(model: LoadedModel): KvCacheManager {
  const c = model.config;
  const kBlock = c.num_hidden_layers * c.num_key_heads * BLOCK * c.head_dim * 4;
  const vBlock = c.num_hidden_layers * c.num_value_heads * BLOCK * c.head_dim * 4;
  return new KvCacheManager({ shape: c, blockSizeTokens: BLOCK, modelId: model.id, bytes: { k: { device: 64 * kBlock, host: 0 }, v: { device: 64 * vBlock, host: 0 } } });
}

describe("model runner - prompt logprobs (sigma-tiny)", () => {
  let model: LoadedModel;
  let dense: OrtDenseModel;
  const prompt = Array.from({ length: 19 }, (_, i) => (i * 29 + 7) % 256);
  /** Oracle per position p >= 1: the token's log-softmax under row p - 1, and that row's three best ids. */
  let oracle: { logprob: number; top: number[]; topLogprobs: number[] }[];
  before(async () => {
    model = demoModel("sigma-tiny", 0);
    dense = await OrtDenseModel.create(model.config, model.weights);
    const { logits } = referenceForward(model.config, model.weights, prompt);
    const vocab = model.config.vocab_size;
    oracle = [];
    for (let p = 1; p < prompt.length; p++) {
      const row = Array.from(logits.subarray((p - 1) * vocab, p * vocab));
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0));
      const ranked = row.map((x, id) => ({ id, lp: x - logZ })).sort((a, b) => b.lp - a.lp || a.id - b.id).slice(0, 3);
      oracle.push({ logprob: row[prompt[p]!]! - logZ, top: ranked.map((r) => r.id), topLogprobs: ranked.map((r) => r.lp) });
    }
  });
  after(() => dense.release());

  /** Runs the prompt in chunks, asking prompt logprobs for every row that has a next prompt token; returns them by position. */
  async function scoreChunked(chunk: number): Promise<Map<number, PromptTokenLogprob>> {
    const kv = kvFor(model);
    const runner = new ModelRunner({ config: model.config, dense, kv, kernel: new JsPagedAttention() });
    assert.ok(kv.allocate("r", { promptTokens: prompt, numNewTokens: 0 }));
    const byPosition = new Map<number, PromptTokenLogprob>();
    for (let start = 0; start < prompt.length; start += chunk) {
      const tokens = prompt.slice(start, start + chunk);
      const targets = prompt.slice(start + 1, Math.min(start + tokens.length, prompt.length - 1) + 1);
      assert.ok(kv.appendSlots("r", tokens.length));
      const result = await runner.step([{ requestId: "r", startPosition: start, tokens, wantLogits: start + tokens.length === prompt.length, promptLogprobs: { topN: 3, targets } }]);
      kv.commitTokens("r", tokens);
      const entries = result.promptLogprobs.get("r") ?? [];
      assert.equal(entries.length, targets.length);
      entries.forEach((entry, i) => byPosition.set(start + i + 1, entry));
      if (start + tokens.length === prompt.length) assert.equal(result.logits.get("r")?.length, model.config.vocab_size, "the sampling row still comes back");
    }
    return byPosition;
  }

  for (const chunk of [19, 5, 1]) {
    test(`model runner - prompt logprobs in chunks of ${chunk} match the reference's log-softmax within 1e-3`, async () => {
      const got = await scoreChunked(chunk);
      assert.deepEqual([...got.keys()].sort((a, b) => a - b), Array.from({ length: prompt.length - 1 }, (_, i) => i + 1));
      for (const [position, entry] of got) {
        const want = oracle[position - 1]!;
        assert.equal(entry.tokenId, prompt[position]);
        assert.ok(Math.abs(entry.logprob - want.logprob) <= TOLERANCE, `position ${position}: ${entry.logprob} vs ${want.logprob}`);
        assert.deepEqual(entry.topLogprobs.map((t) => t.tokenId), want.top, `position ${position}: top ids`);
        entry.topLogprobs.forEach((t, rank) => assert.ok(Math.abs(t.logprob - want.topLogprobs[rank]!) <= TOLERANCE));
      }
    });
  }

  test("model runner - a neighbour asking prompt logprobs leaves a sequence's logits bit-identical", async () => {
    const kv = kvFor(model);
    const runner = new ModelRunner({ config: model.config, dense, kv, kernel: new JsPagedAttention() });
    kv.allocate("alone", { promptTokens: prompt });
    const alone = await runner.step([{ requestId: "alone", startPosition: 0, tokens: prompt, wantLogits: true }]);
    assert.equal(alone.promptLogprobs.size, 0);
    kv.allocate("x", { promptTokens: prompt, cacheSalt: "x" });
    kv.allocate("y", { promptTokens: prompt, cacheSalt: "y" });
    const batch = await runner.step([
      { requestId: "x", startPosition: 0, tokens: prompt, wantLogits: false, promptLogprobs: { topN: 0, targets: prompt.slice(1) } },
      { requestId: "y", startPosition: 0, tokens: prompt, wantLogits: true },
    ]);
    assert.deepEqual(Array.from(batch.logits.get("y")!), Array.from(alone.logits.get("alone")!));
    assert.equal(batch.logits.has("x"), false);
    assert.equal(batch.promptLogprobs.get("x")!.length, prompt.length - 1);
  });
});
