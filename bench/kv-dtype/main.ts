/**
 * kv-dtype: how far a 16-bit KV cache moves the model from the f32 one (issue 16, §1).
 *
 * On both demo presets (sigma-tiny, sigma-tiny-gqa, deterministic demo weights,
 * seed 0), for a few fixed prompts, the f32 cache (the oracle) decodes
 * `--steps` greedy tokens (256 by default). Then for each 16-bit setting (K
 * and V bf16, both f16, K bf16 with V f16):
 *   - a teacher-forced run feeds the f32 run's tokens and gives, at each step,
 *     the max |logit difference| against the f32 logits of that step (so a
 *     divergence does not compound); reported as the max over steps, its
 *     median over steps, the logit scale (max |logit| of the f32 run), the
 *     bound the engine test enforces (ε·max|logit|, ε = 2^-8 for bf16, 2^-11
 *     for f16: one ulp of the dtype) and the difference as a share of it;
 *   - a free-running run decodes on its own: greedy agreement is the fraction
 *     of its tokens identical to the f32 run's, position by position, and the
 *     first step where they differ.
 * Rows are per (preset, prompt, setting) plus a summary per (preset, setting)
 * over the prompts (worst max difference, mean and min agreement).
 *
 * No timings: every figure is deterministic (same weights, prompts and kernel;
 * the runner's rows do not depend on the batch), so repeating or alternating
 * rounds would change nothing; the run says so, with 0 rounds discarded.
 * The kernel is the worker's pick (native when built, else JS; `--kernel js`
 * forces JS), named in the config. `--quick`: one prompt, 64 steps.
 */
import { parseArgs } from "node:util";
import { JsPagedAttention, createAttentionKernel, type AttentionKernel } from "@sigmaserve/engine";
import type { KvDtypes } from "@sigmaserve/kvcache";
import { OrtDenseModel } from "@sigmaserve/model/runtime";
import { demoModel } from "@sigmaserve/model/weights";
import type { BenchResult, Row } from "../lib/bench-result.js";
import { median } from "../lib/median.js";
import { greedyRun, maxAbsLogit, stepMaxDifferences } from "./greedy-runs.js";

const PRESETS = ["sigma-tiny", "sigma-tiny-gqa"] as const;
/** Fixed prompts, as bytes after BOS (the demo presets' byte tokenizer: ids 0–255 are bytes, 256 is BOS). */
const PROMPTS = [
  "The quick brown fox jumps over the lazy dog.",
  "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
  "DiffQKV attention keeps fewer K heads than V heads, and reads only the V rows that matter.",
];
const BOS = 256;
const SETTINGS: readonly { name: string; dtype: KvDtypes; epsilon: number }[] = [
  { name: "bf16", dtype: { k: "bf16", v: "bf16" }, epsilon: 2 ** -8 },
  { name: "f16", dtype: { k: "f16", v: "f16" }, epsilon: 2 ** -11 },
  // The coarser dtype bounds a mixed cache.
  { name: "k-bf16-v-f16", dtype: { k: "bf16", v: "f16" }, epsilon: 2 ** -8 },
];

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args, options: { quick: { type: "boolean" }, steps: { type: "string" }, prompts: { type: "string" }, kernel: { type: "string" } } });
  const quick = values.quick === true;
  const steps = Number(values.steps ?? (quick ? 64 : 256));
  const promptCount = Number(values.prompts ?? (quick ? 1 : PROMPTS.length));
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${values.steps}`);
  if (!Number.isInteger(promptCount) || promptCount < 1 || promptCount > PROMPTS.length) throw new Error(`--prompts must be 1 … ${PROMPTS.length}, got ${values.prompts}`);
  const kernel: AttentionKernel = values.kernel === "js" ? new JsPagedAttention() : createAttentionKernel({ log: (message) => process.stderr.write(`${message}\n`) });
  const prompts = PROMPTS.slice(0, promptCount).map((text) => [BOS, ...Buffer.from(text, "utf8")]);

  const rows: Row[] = [];
  const summary: Row[] = [];
  const ratios: Record<string, number> = {};
  const perStep: Record<string, number[]> = {};
  for (const preset of PRESETS) {
    const model = demoModel(preset, 0);
    const dense = await OrtDenseModel.create(model.config, model.weights);
    try {
      const bySetting = new Map<string, { maxDiff: number; ofBound: number; agreements: number[] }>();
      for (const [p, prompt] of prompts.entries()) {
        const oracle = await greedyRun(model, dense, kernel, { k: "f32", v: "f32" }, prompt, steps);
        const scale = maxAbsLogit(oracle);
        for (const setting of SETTINGS) {
          const forced = await greedyRun(model, dense, kernel, setting.dtype, prompt, steps, oracle.tokens);
          const differences = stepMaxDifferences(forced, oracle);
          const free = await greedyRun(model, dense, kernel, setting.dtype, prompt, steps);
          const same = free.tokens.filter((token, i) => token === oracle.tokens[i]).length;
          const firstDivergence = free.tokens.findIndex((token, i) => token !== oracle.tokens[i]);
          const maxDiff = Math.max(...differences);
          perStep[`${preset}/${setting.name}/prompt${p}`] = differences;
          rows.push({
            preset,
            prompt: p,
            kv: setting.name,
            steps,
            max_logit_diff: maxDiff,
            median_step_diff: median(differences),
            max_abs_logit: scale,
            bound: setting.epsilon * scale,
            of_bound: maxDiff / (setting.epsilon * scale),
            agreement: same / steps,
            first_divergence: firstDivergence < 0 ? "none" : firstDivergence,
          });
          const acc = bySetting.get(setting.name) ?? { maxDiff: 0, ofBound: 0, agreements: [] };
          acc.maxDiff = Math.max(acc.maxDiff, maxDiff);
          acc.ofBound = Math.max(acc.ofBound, maxDiff / (setting.epsilon * scale));
          acc.agreements.push(same / steps);
          bySetting.set(setting.name, acc);
        }
      }
      for (const [name, acc] of bySetting) {
        const meanAgreement = acc.agreements.reduce((a, b) => a + b, 0) / acc.agreements.length;
        summary.push({ preset, prompt: "all", kv: name, steps, max_logit_diff: acc.maxDiff, of_bound: acc.ofBound, agreement: meanAgreement, min_agreement: Math.min(...acc.agreements) });
        ratios[`${preset}_${name}_agreement`] = meanAgreement;
        ratios[`${preset}_${name}_max_logit_diff_of_bound`] = acc.ofBound;
      }
    } finally {
      await dense.release();
    }
  }
  process.stdout.write(`kv-dtype: accuracy only, deterministic: no timed rounds (0 rounds discarded). Kernel ${kernel.name}, ${promptCount} prompt(s), ${steps} steps.\n`);
  return {
    name: "kv-dtype",
    config: { presets: PRESETS, weightSeed: 0, prompts: PROMPTS.slice(0, promptCount), steps, kernel: kernel.name, blockSizeTokens: 16, oracle: "f32 K and V", settings: SETTINGS, quick },
    rows: [...rows, ...summary],
    ratios,
    details: { maxLogitDiffPerStep: perStep },
  };
}
