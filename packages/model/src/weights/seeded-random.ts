/**
 * A small deterministic PRNG for demo weights: the same seed gives the same
 * numbers on every machine and Node version (no Math.random, no float
 * transcendental differences in the integer core).
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit) seeded
 * through splitmix32 from (seed, stream name), so each tensor has its own
 * stream and does not depend on the order tensors are made in. Normals come
 * from Box–Muller; Math.log/cos/sin are correctly rounded enough in V8 that
 * results agree across x86-64 and arm64 for our purposes, and the weights are
 * stored rounded to f32 anyway.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a name: a stable stream id. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

export interface SeededRandom {
  /** Uniform in [0, 1), 32 bits of randomness. */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

export function seededRandom(seed: number, stream: string): SeededRandom {
  const init = splitmix32((seed >>> 0) ^ fnv1a(stream));
  let a = init();
  let b = init();
  let c = init();
  let counter = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + counter) >>> 0;
    counter = (counter + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Skip the first outputs, as sfc32's author recommends.
  for (let i = 0; i < 12; i++) next();
  const uniform = (): number => next() / 4294967296;
  return {
    uniform,
    normal() {
      // 1 - u keeps log's argument in (0, 1].
      const u1 = 1 - uniform();
      const u2 = uniform();
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
  };
}
