/**
 * The per-request PRNG. It has no state: the uniform for the k-th generated
 * token is a pure hash of (seed, k), so a request's draws do not depend on
 * what else is in the batch, on how many steps it has run on this worker, or
 * on the order in which steps are evaluated. This is what makes failover by
 * token replay exact: a worker that resumes a request at step k (after
 * replaying tokens 0 … k-1 as prompt) draws exactly what the original worker
 * would have drawn at step k, without replaying any random numbers.
 *
 * The hash is SplitMix64's finaliser (Steele, Lea and Flood, 2014) applied
 * twice: once to the seed, which spreads nearby seeds (0, 1, 2, …) over the
 * whole 64-bit space and gives each request its own stream key, then to
 * key + (k + 1)·γ, which is SplitMix64's output for position k of the stream
 * with that key. Hashing the seed first matters: plain SplitMix64 at seed s,
 * step k equals seed s + γ, step k - 1, so two users' streams could be shifts
 * of each other. The 64-bit result keeps its top 53 bits as a double in
 * [0, 1). BigInt arithmetic costs about 0.3 µs per draw here; the worker
 * draws once per generated token, so this is far off the hot path.
 */

const MASK_64 = (1n << 64n) - 1n;
/** SplitMix64's increment: 2^64 / φ, odd. */
const GOLDEN_GAMMA = 0x9e37_79b9_7f4a_7c15n;
const MIX_MULTIPLIER_1 = 0xbf58_476d_1ce4_e5b9n;
const MIX_MULTIPLIER_2 = 0x94d0_49bb_1331_11ebn;
/** Bits of a double's significand: uniforms are multiples of 2^-53. */
const UNIFORM_BITS = 53n;
const UNIFORM_SCALE = 2 ** -53;

/** SplitMix64's finaliser: a bijection on u64 with full avalanche. */
export function mix64(value: bigint): bigint {
  let z = value & MASK_64;
  z = ((z ^ (z >> 30n)) * MIX_MULTIPLIER_1) & MASK_64;
  z = ((z ^ (z >> 27n)) * MIX_MULTIPLIER_2) & MASK_64;
  return z ^ (z >> 31n);
}

/** The 64-bit random word of step `step` (0-based index of the generated token) of the stream `seed`. */
export function requestRandomU64(seed: bigint, step: number): bigint {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`request rng: step must be an integer >= 0, got ${step}`);
  const key = mix64(seed);
  return mix64(key + BigInt(step + 1) * GOLDEN_GAMMA);
}

/**
 * The uniform in [0, 1) that the sampler uses for generated token `step`
 * (0-based, counted within the completion, not the sequence) of a request
 * seeded with `seed`. A multiple of 2^-53; depends only on (seed, step).
 */
export function requestUniform(seed: bigint, step: number): number {
  return Number(requestRandomU64(seed, step) >> (64n - UNIFORM_BITS)) * UNIFORM_SCALE;
}
