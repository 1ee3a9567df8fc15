/**
 * The naive building blocks of the reference forward pass. Each works on
 * row-major Float32Array rows and accumulates in float64 (JS numbers), so the
 * reference is at least as accurate as any optimised path it judges.
 */

/** y[t] = x[t] · Wᵀ for a linear weight W of shape [out, in] (no bias). */
export function linear(x: Float32Array, rows: number, weight: Float32Array, outFeatures: number, inFeatures: number): Float32Array {
  const y = new Float32Array(rows * outFeatures);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = 0;
      for (let i = 0; i < inFeatures; i++) sum += x[t * inFeatures + i]! * weight[o * inFeatures + i]!;
      y[t * outFeatures + o] = sum;
    }
  }
  return y;
}

/** RMSNorm per row: x / sqrt(mean(x²) + eps) · weight. */
export function rmsNorm(x: Float32Array, rows: number, width: number, weight: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(rows * width);
  for (let t = 0; t < rows; t++) {
    let sumSquares = 0;
    for (let i = 0; i < width; i++) sumSquares += x[t * width + i]! ** 2;
    const scale = 1 / Math.sqrt(sumSquares / width + eps);
    for (let i = 0; i < width; i++) y[t * width + i] = x[t * width + i]! * scale * weight[i]!;
  }
  return y;
}

export function silu(value: number): number {
  return value / (1 + Math.exp(-value));
}

/** SwiGLU: down(silu(gate(x)) · up(x)), the MLP and augmented Q alike. */
export function gatedMlp(
  x: Float32Array,
  rows: number,
  inWidth: number,
  hiddenWidth: number,
  weights: { gate: Float32Array; up: Float32Array; down: Float32Array },
): Float32Array {
  const gate = linear(x, rows, weights.gate, hiddenWidth, inWidth);
  const up = linear(x, rows, weights.up, hiddenWidth, inWidth);
  const hidden = new Float32Array(rows * hiddenWidth);
  for (let i = 0; i < hidden.length; i++) hidden[i] = silu(gate[i]!) * up[i]!;
  return linear(hidden, rows, weights.down, inWidth, hiddenWidth);
}

/**
 * RoPE in Hugging Face's rotate-half convention, in place. For each head, the
 * pair (j, j + d/2) at position p rotates by angle p · θ^(-2j/d).
 */
export function applyRope(x: Float32Array, positions: readonly number[], numHeads: number, headDim: number, theta: number): void {
  const half = headDim / 2;
  for (let t = 0; t < positions.length; t++) {
    const position = positions[t]!;
    for (let head = 0; head < numHeads; head++) {
      const base = (t * numHeads + head) * headDim;
      for (let j = 0; j < half; j++) {
        const angle = position * theta ** ((-2 * j) / headDim);
        const cos = Math.cos(angle);
        const sin = Math.sin(angle);
        const a = x[base + j]!;
        const b = x[base + j + half]!;
        x[base + j] = a * cos - b * sin;
        x[base + j + half] = b * cos + a * sin;
      }
    }
  }
}
