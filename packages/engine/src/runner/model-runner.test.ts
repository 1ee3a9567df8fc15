import { KvCacheManager } from "@sigmaserve/kvcache";
import { referenceForward } from "@sigmaserve/model/reference";
import { OrtDenseModel } from "@sigmaserve/model/runtime";
import { demoModel, type LoadedModel } from "@sigmaserve/model/weights";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AttentionKernel } from "../attention/attention-kernel.js";
import { createAttentionKernel } from "../attention/create-attention-kernel.js";
import { JsPagedAttention } from "../attention/js-paged-attention.js";
import { ModelRunner } from "./model-runner.js";

const TOLERANCE = 1e-3;
const BLOCK = 4;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function kvFor(model: LoadedModel): KvCacheManager {
  const c = model.config;
  const kBlock = c.num_hidden_layers * c.num_key_heads * BLOCK * c.head_dim * 4;
  const vBlock = c.num_hidden_layers * c.num_value_heads * BLOCK * c.head_dim * 4;
  return new KvCacheManager({ shape: c, blockSizeTokens: BLOCK, modelId: model.id, bytes: { k: { device: 64 * kBlock, host: 0 }, v: { device: 64 * vBlock, host: 0 } } });
}

// Both kernels against the reference: the JS one and the fast one the worker picks (native when built).
const KERNELS: [string, () => AttentionKernel][] = [
  ["js", () => new JsPagedAttention()],
  ["auto", () => createAttentionKernel({ log: () => {} })],
];

for (const [kernelName, makeKernel] of KERNELS)
for (const preset of ["sigma-tiny", "sigma-tiny-gqa"] as const) {
  describe(`model runner - ${preset} (${kernelName} kernel: ${makeKernel().name})`, () => {
    let model: LoadedModel;
    let dense: OrtDenseModel;
    const prompt = Array.from({ length: 33 }, (_, i) => (i * 29 + 7) % 256);
    let reference: ReturnType<typeof referenceForward>;
    before(async () => {
      model = demoModel(preset, 0);
      dense = await OrtDenseModel.create(model.config, model.weights);
      reference = referenceForward(model.config, model.weights, prompt, { returnKv: true });
    });
    after(() => dense.release());

    const referenceRow = (position: number) => reference.logits.subarray(position * model.config.vocab_size, (position + 1) * model.config.vocab_size);

    /** Runs the prompt in chunks of `chunk` tokens and returns the logits after each chunk, by last position. */
    async function runChunked(chunk: number) {
      const kv = kvFor(model);
      const runner = new ModelRunner({ config: model.config, dense, kv, kernel: makeKernel() });
      assert.ok(kv.allocate("r", { promptTokens: prompt, numNewTokens: 0 }));
      const logits = new Map<number, Float32Array>();
      for (let start = 0; start < prompt.length; start += chunk) {
        const tokens = prompt.slice(start, start + chunk);
        assert.ok(kv.appendSlots("r", tokens.length));
        const result = await runner.step([{ requestId: "r", startPosition: start, tokens, wantLogits: true }]);
        kv.commitTokens("r", tokens);
        logits.set(start + tokens.length - 1, Float32Array.from(result.logits.get("r")!));
      }
      return { kv, logits };
    }

    for (const [name, chunk] of [
      ["one prefill", 33],
      ["chunks of 5", 5],
      ["token by token", 1],
    ] as const) {
      test(`model runner - ${preset}: ${name} matches the reference within 1e-3`, async () => {
        const { logits } = await runChunked(chunk);
        for (const [position, row] of logits) {
          const diff = maxAbsDiff(row, referenceRow(position));
          assert.ok(diff <= TOLERANCE, `position ${position}: max abs diff ${diff}`);
        }
      });
    }

    test(`model runner - ${preset}: the cache holds the reference's K (after RoPE) and V`, async () => {
      const { kv } = await runChunked(5);
      const c = model.config;
      const table = kv.blockTable("r");
      // Read back through the same door the kernel uses: the attention view's arenas and block slots.
      const view = kv.attentionView();
      const slots = { kSlot: new Int32Array(table.length), vSlot: new Int32Array(table.length), vTier: new Uint8Array(table.length) };
      view.fillBlockSlots("r", slots, 0);
      for (let layer = 0; layer < c.num_hidden_layers; layer++) {
        for (const position of [0, 13, 32]) {
          const entry = Math.floor(position / BLOCK);
          for (const [component, heads, expected] of [
            ["k", c.num_key_heads, reference.keys![layer]!],
            ["v", c.num_value_heads, reference.values![layer]!],
          ] as const) {
            const arena = component === "k" ? view.kDevice : view.vDevice;
            const slotNumber = component === "k" ? slots.kSlot[entry]! : slots.vSlot[entry]!;
            const slot = arena.subarray(slotNumber * view.slotFloats[component], (slotNumber + 1) * view.slotFloats[component]);
            for (let head = 0; head < heads; head++) {
              const stored = slot.subarray(((layer * heads + head) * BLOCK + (position % BLOCK)) * c.head_dim, ((layer * heads + head) * BLOCK + (position % BLOCK) + 1) * c.head_dim);
              const want = expected.subarray((position * heads + head) * c.head_dim, (position * heads + head + 1) * c.head_dim);
              assert.ok(maxAbsDiff(stored, want) <= 1e-4, `layer ${layer} ${component} head ${head} position ${position}`);
            }
          }
        }
      }
    });

    test(`model runner - ${preset}: a prompt whose prefix comes from the cache matches the reference`, async () => {
      const kv = kvFor(model);
      const runner = new ModelRunner({ config: model.config, dense, kv, kernel: makeKernel() });
      const first = prompt.slice(0, 20);
      kv.allocate("a", { promptTokens: first });
      await runner.step([{ requestId: "a", startPosition: 0, tokens: first, wantLogits: true }]);
      kv.commitTokens("a", first);
      kv.free("a");
      const admission = kv.allocate("b", { promptTokens: prompt })!;
      assert.equal(admission.numCachedTokens, 20);
      const rest = prompt.slice(admission.numCachedTokens);
      const result = await runner.step([{ requestId: "b", startPosition: admission.numCachedTokens, tokens: rest, wantLogits: true }]);
      assert.ok(maxAbsDiff(result.logits.get("b")!, referenceRow(32)) <= TOLERANCE);
    });

    test(`model runner - ${preset}: a sequence's logits are bit-identical alone and in a batch`, async () => {
      const kv = kvFor(model);
      const runner = new ModelRunner({ config: model.config, dense, kv, kernel: makeKernel() });
      const other = Array.from({ length: 17 }, (_, i) => (i * 13 + 1) % 256);
      kv.allocate("alone", { promptTokens: prompt });
      const alone = await runner.step([{ requestId: "alone", startPosition: 0, tokens: prompt, wantLogits: true }]);
      kv.allocate("x", { promptTokens: other, cacheSalt: "x" });
      kv.allocate("y", { promptTokens: prompt, cacheSalt: "y" });
      const batch = await runner.step([
        { requestId: "x", startPosition: 0, tokens: other, wantLogits: true },
        { requestId: "y", startPosition: 0, tokens: prompt, wantLogits: true },
      ]);
      assert.deepEqual(Array.from(batch.logits.get("y")!), Array.from(alone.logits.get("alone")!));
    });
  });
}
