/**
 * Picks an index from costs (lower is better). Temperature 0 is the argmin,
 * the first index on ties (callers order candidates by worker id). Above 0
 * it samples a softmax over the costs rescaled to [0, 1], as Dynamo does, so
 * the temperature is unitless whatever the cost scale:
 *   n_i = (c_i − min c) / (max c − min c)   (all 0 when the costs are equal)
 *   p_i = exp(−n_i / T) / Σ_j exp(−n_j / T)
 * T = 1 makes the best worker e ≈ 2.72 times likelier than the worst.
 */

export interface SoftmaxPick {
  index: number;
  probabilities: number[];
}

export function softmaxPick(costs: readonly number[], temperature: number, random: () => number): SoftmaxPick {
  if (costs.length === 0) throw new RangeError("softmaxPick needs at least one cost");
  if (temperature === 0) {
    let index = 0;
    for (let i = 1; i < costs.length; i++) if (costs[i]! < costs[index]!) index = i;
    return { index, probabilities: costs.map((_, i) => (i === index ? 1 : 0)) };
  }
  const min = Math.min(...costs);
  const span = Math.max(...costs) - min;
  const weights = costs.map((cost) => Math.exp(-(span === 0 ? 0 : (cost - min) / span) / temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const probabilities = weights.map((weight) => weight / total);
  const target = random() * total;
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    cumulative += weights[i]!;
    if (target < cumulative) return { index: i, probabilities };
  }
  // NOTE: only reachable through rounding (or a random() of 1): the last index.
  return { index: weights.length - 1, probabilities };
}
