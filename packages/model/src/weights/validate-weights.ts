/**
 * Checks a tensor map against the config before anything computes with it,
 * so a bad checkpoint fails here with names and shapes, never deep inside ORT.
 */
import type { ModelConfig } from "../config/index.js";
import type { TensorMap } from "../tensor.js";
import { WeightsMismatchError } from "./errors.js";
import { expectedTensorShapes } from "./tensor-names.js";

/** Throws WeightsMismatchError listing every missing, unexpected and wrongly shaped tensor. */
export function validateWeights(config: ModelConfig, weights: TensorMap, options?: { source?: string }): void {
  const expected = expectedTensorShapes(config);
  const missing = [...expected.keys()].filter((name) => !weights.has(name));
  const unexpected = [...weights.keys()].filter((name) => !expected.has(name)).sort();
  const wrongShape: { name: string; expected: readonly number[]; actual: readonly number[] }[] = [];
  for (const [name, shape] of expected) {
    const tensor = weights.get(name);
    if (tensor !== undefined && (tensor.shape.length !== shape.length || tensor.shape.some((dim, i) => dim !== shape[i]))) {
      wrongShape.push({ name, expected: shape, actual: tensor.shape });
    }
  }
  if (missing.length > 0 || unexpected.length > 0 || wrongShape.length > 0) {
    throw new WeightsMismatchError({ missing, unexpected, wrongShape, ...(options?.source === undefined ? {} : { source: options.source }) });
  }
}
