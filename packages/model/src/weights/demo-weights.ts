/**
 * Deterministic demo weights: the same (config, seed) always gives the same
 * tensors, so `model make --seed 0` writes byte-identical files anywhere.
 *
 * Scaling keeps activations finite and logits informative through every layer:
 * - linear weights ~ N(0, 1/fan_in), so a projection keeps unit variance;
 * - o_proj and down_proj are further scaled by 1/sqrt(2·layers) (GPT-2's
 *   residual scaling), so the residual stream grows slowly with depth;
 * - norm weights are 1 + N(0, 0.1²), so a test notices a norm weight that is
 *   not applied;
 * - embeddings ~ N(0, 1); the lm_head (or the tied embedding) then gives
 *   logits with a spread of a few units: peaked enough that greedy decoding
 *   is stable, flat enough that sampling varies.
 */
import type { ModelConfig } from "../config/index.js";
import { elementCount, type TensorMap } from "../tensor.js";
import { seededRandom } from "./seeded-random.js";
import { EMBED_TOKENS, LM_HEAD, expectedTensorShapes } from "./tensor-names.js";

const NORM_WEIGHT_NOISE = 0.1;
/** Extra gain on the lm_head so the demo's next-token distributions are peaked (std of logits ≈ 4). */
const LM_HEAD_GAIN = 4;

function stdFor(name: string, shape: readonly number[], config: ModelConfig): number {
  if (name === EMBED_TOKENS) return config.tie_word_embeddings ? LM_HEAD_GAIN / Math.sqrt(config.hidden_size) : 1;
  if (name === LM_HEAD) return LM_HEAD_GAIN / Math.sqrt(config.hidden_size);
  const fanIn = shape[1] ?? 1;
  const residualScale = /\.(o_proj|down_proj)\.weight$/.test(name) ? 1 / Math.sqrt(2 * config.num_hidden_layers) : 1;
  return residualScale / Math.sqrt(fanIn);
}

/** Makes every tensor the config needs from `seed`. */
export function makeDemoWeights(config: ModelConfig, seed: number): TensorMap {
  const weights: TensorMap = new Map();
  for (const [name, shape] of expectedTensorShapes(config)) {
    const random = seededRandom(seed, name);
    const data = new Float32Array(elementCount(shape));
    if (shape.length === 1) {
      for (let i = 0; i < data.length; i++) data[i] = 1 + NORM_WEIGHT_NOISE * random.normal();
    } else {
      const std = stdFor(name, shape, config);
      for (let i = 0; i < data.length; i++) data[i] = std * random.normal();
    }
    weights.set(name, { shape, data });
  }
  return weights;
}
