/**
 * Seeds for requests that bring none (so a failover replay continues the same
 * random stream). Drawn from a pool of OS randomness refilled 512 seeds at a
 * time: one randomBytes(8) per request cost ~30 µs on the router's hot path.
 */
import { randomFillSync } from "node:crypto";

const SEEDS_PER_REFILL = 512;
const pool = Buffer.alloc(SEEDS_PER_REFILL * 8);
let next = SEEDS_PER_REFILL;

/** A uniformly random u64. */
export function randomSeed(): bigint {
  if (next === SEEDS_PER_REFILL) {
    randomFillSync(pool);
    next = 0;
  }
  return pool.readBigUInt64LE(8 * next++);
}
