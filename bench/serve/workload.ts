/**
 * The shared-prefix workload, fully determined by its seed: `tenants` tenants,
 * each with its own `prefixTokens`-token system prompt; every request is one
 * tenant's prefix followed by a fresh `questionTokens`-token question. Token
 * ids are bytes (0–255), valid for sigma-tiny's byte vocabulary and never
 * BOS/EOS/PAD. Arrivals are Poisson (exponential gaps) for open-loop runs.
*/

import { mulberry32 } from "../lib/mulberry32.js";

/** Largest token id a prompt uses: the byte range of sigma-tiny's vocabulary. */
const MAX_BYTE_TOKEN = 255;

export interface WorkloadOptions {
  tenants: number;
  prefixTokens: number;
  questionTokens: number;
  maxTokens: number;
  requests: number;
  seed: number;
}

export interface WorkloadRequest {
  index: number;
  tenant: number;
  promptTokenIds: number[];
  maxTokens: number;
}

export interface Workload {
  options: WorkloadOptions;
  requests: WorkloadRequest[];
}

function randomTokens(random: () => number, length: number): number[] {
  return Array.from({ length }, () => Math.floor(random() * (MAX_BYTE_TOKEN + 1)));
}

/** The same seed gives the same prefixes, tenants and questions, request by request. */
export function buildWorkload(options: WorkloadOptions): Workload {
  const random = mulberry32(options.seed);
  const prefixes = Array.from({ length: options.tenants }, () => randomTokens(random, options.prefixTokens));
  const requests = Array.from({ length: options.requests }, (_, index) => {
    const tenant = Math.floor(random() * options.tenants);
    return { index, tenant, promptTokenIds: [...prefixes[tenant]!, ...randomTokens(random, options.questionTokens)], maxTokens: options.maxTokens };
  });
  return { options, requests };
}

/** Arrival offsets (ms from the start) of `count` Poisson arrivals at `ratePerS`; its own PRNG stream, so the prompts do not depend on the rate. */
export function poissonArrivalsMs(count: number, ratePerS: number, seed: number): number[] {
  const random = mulberry32(seed ^ 0x5eed_a11e);
  const arrivals: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    t += (-Math.log(1 - random()) / ratePerS) * 1000;
    arrivals.push(t);
  }
  return arrivals;
}
