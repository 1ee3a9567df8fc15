/**
 * A 16-bit KV cache against the f32 one (the oracle) on sigma-tiny with its
 * deterministic demo weights: 64 greedy tokens after a fixed prompt.
 *
 * Max logit difference: the 16-bit run is teacher-forced on the f32 run's
 * tokens, so both compute every step from the same history and a divergence
 * does not compound; the difference is taken over every logit of every step.
 *
 * The bound. A 16-bit dtype keeps p significant bits (bf16 8, f16 11), so each
 * cached K or V element is within half an ulp, a relative 2^-p, of its f32
 * value. A score q·k moves by at most that relative amount of |q|·|k|, and an
 * attention output (a softmax-weighted average of V rows) by that of the V
 * rows plus what the moved weights shift: about 2 · 2^-p relative per layer,
 * which the residual stream and the final norm carry to the logits as one
 * ulp of the dtype, ε = 2^(1-p) (bf16 2^-8, f16 2^-11), relative to the logit
 * scale. So the bound is ε × max |logit| of the f32 run (about 33 here: 0.13
 * for bf16, 0.016 for f16). Measured when written: 0.025 (bf16), 0.0024
 * (f16), 0.0077 (K bf16, V f16), so the bound holds with a margin of about 5.
 *
 * Agreement: the 16-bit run decodes freely, and the fraction of its 64
 * tokens identical to the f32 run's must be high (all 64 matched when written).
 */
import type { KvDtypes } from "@sigmaserve/kvcache";
import { OrtDenseModel } from "@sigmaserve/model/runtime";
import { demoModel, type LoadedModel } from "@sigmaserve/model/weights";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { JsPagedAttention } from "../attention/js-paged-attention.js";
import { agreement, greedyDecode, maxLogitDifference, type GreedyRun } from "./testing/greedy-decode.js";

const STEPS = 64;
const PROMPT = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % 256);
/** One ulp at 1 of each 16-bit dtype: 2^(1 − significant bits). */
const EPSILON = { bf16: 2 ** -8, f16: 2 ** -11 } as const;
/** Least share of the free-running tokens that must equal the f32 run's. */
const MIN_AGREEMENT = 0.9;

let model: LoadedModel;
let dense: OrtDenseModel;
let oracle: GreedyRun;
let maxAbsLogit = 0;
const kernel = new JsPagedAttention();

before(async () => {
  model = demoModel("sigma-tiny", 0);
  dense = await OrtDenseModel.create(model.config, model.weights);
  oracle = await greedyDecode(model, dense, kernel, { k: "f32", v: "f32" }, PROMPT, STEPS);
  for (const row of oracle.logits) for (const x of row) maxAbsLogit = Math.max(maxAbsLogit, Math.abs(x));
});
after(() => dense.release());

const CASES: [KvDtypes, number][] = [
  [{ k: "bf16", v: "bf16" }, EPSILON.bf16],
  [{ k: "f16", v: "f16" }, EPSILON.f16],
  // The coarser of the two dtypes bounds a mixed cache.
  [{ k: "bf16", v: "f16" }, EPSILON.bf16],
];

for (const [dtype, epsilon] of CASES) {
  test(`kv dtype accuracy - sigma-tiny with K ${dtype.k} and V ${dtype.v}: logits within ε·max|logit| of f32's, greedy tokens agree over ${STEPS} steps`, async () => {
    assert.ok(maxAbsLogit > 1, `the f32 logits have a scale (${maxAbsLogit})`);
    const forced = await greedyDecode(model, dense, kernel, dtype, PROMPT, STEPS, oracle.tokens);
    assert.deepEqual(forced.tokens, oracle.tokens, "teacher-forced on the f32 tokens");
    const difference = maxLogitDifference(forced, oracle);
    const bound = epsilon * maxAbsLogit;
    assert.ok(difference > 0, "the 16-bit cache is really in use: the logits move");
    assert.ok(difference <= bound, `max |logit difference| ${difference} over the bound ${bound} (ε ${epsilon} × max |logit| ${maxAbsLogit})`);
    const free = await greedyDecode(model, dense, kernel, dtype, PROMPT, STEPS);
    const agreed = agreement(free, oracle);
    assert.ok(agreed >= MIN_AGREEMENT, `greedy agreement ${agreed} under ${MIN_AGREEMENT}`);
  });
}
