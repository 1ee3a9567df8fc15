/**
 * The simulated cluster of the index-scale bench: what each worker caches,
 * the KV event batches it would publish, and the prompts the router routes.
 * No processes: only the data a real worker would put on the bus.
 *
 * Every worker holds `blocksPerWorker` distinct blocks (K and V both on the
 * device), made of:
 * - shared system prompts: SYSTEM_PROMPTS_PER_WORKER of NUM_SYSTEM_PROMPTS,
 *   drawn by popularity (Zipf, s = 1), so the popular ones sit on most
 *   workers and a prefix walk meets many holders; real chain hashes;
 * - one conversation (its first system prompt + a unique tail to
 *   PROMPT_BLOCKS), real chain hashes, which "returning" prompts extend;
 * - filler: the unique tails of everything else it served, LRU order.
 *   NOTE: filler hashes are counter-derived 64-bit values, not SHA-256 of
 *   tokens: the index treats a hash as an opaque u64, no prompt ever hits a
 *   unique tail, and hashing ~10M blocks would cost a minute of CPU.
 *
 * Churn (the steady state of a full cache): each request stores
 * PROMPT_BLOCKS new blocks (stored K, stored V) and evicts the worker's
 * PROMPT_BLOCKS least recently used filler blocks (removed K, removed V).
 * That is the no-reuse upper bound of a 4K-token prompt at 16 tokens a block.
 */
import { prefixBlockHashes } from "@sigmaserve/kvcache/hash";
import type { KvEvent, KvEventBatch } from "@sigmaserve/kvcache/events";
import { mulberry32 } from "../lib/mulberry32.js";

export const BLOCK_SIZE_TOKENS = 16;
export const PROMPT_TOKENS = 4_096;
export const PROMPT_BLOCKS = PROMPT_TOKENS / BLOCK_SIZE_TOKENS;
export const MODEL_ID = "sigma-1.5b";
export const NUM_SYSTEM_PROMPTS = 32;
export const SYSTEM_PROMPTS_PER_WORKER = 4;
/** System prompt lengths, in blocks (512 to 2,048 tokens). */
export const SYSTEM_PROMPT_BLOCKS = { min: 32, max: 128 } as const;
/** Tokens of a "returning" prompt taken from the cached conversation; the rest is a new turn. */
export const RETURNING_PREFIX_BLOCKS = 192;
/** Token ids are drawn below this (a Llama-3-sized vocabulary). */
const VOCAB = 128_000;
const EPOCH = 1n;

export type PromptKind = "shared-system" | "returning" | "unique";

export interface Probe {
  kind: PromptKind;
  tokens: number[];
}

interface WorkerPlan {
  id: string;
  systemPrompts: number[];
  conversationTokens: number[];
  /** Real hashes this worker holds: its system prompts' and its conversation's, deduplicated. */
  realHashes: bigint[];
  fillerBlocks: number;
  /** Seq of the last event published so far. */
  lastSeq: number;
  /** Next filler index to store; the LRU victim is `storeCursor - fillerBlocks`. */
  storeCursor: number;
}

const fmix32 = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/** Filler block `index` of worker `worker`: distinct for worker < 4,096 and index < 2^20 (fmix32 is a bijection). */
function fillerHashes(worker: number, from: number, count: number): bigint[] {
  const words = new Uint32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const key = ((worker << 20) | ((from + i) & 0xfffff)) >>> 0;
    words[2 * i] = fmix32(key);
    words[2 * i + 1] = fmix32(key ^ 0x5bd1e995) | 0x1; // never 0 in the high word: a full 64-bit value, like a real hash
  }
  return Array.from(new BigUint64Array(words.buffer));
}

export class SimulatedCluster {
  readonly workers: WorkerPlan[];
  readonly #systemPrompts: number[][];
  readonly #random: () => number;

  constructor(numWorkers: number, readonly blocksPerWorker: number, seed: number) {
    if (numWorkers > 4_096) throw new Error("at most 4,096 simulated workers (filler hash layout)");
    this.#random = mulberry32(seed);
    this.#systemPrompts = Array.from({ length: NUM_SYSTEM_PROMPTS }, () =>
      this.#tokens(BLOCK_SIZE_TOKENS * (SYSTEM_PROMPT_BLOCKS.min + Math.floor(this.#random() * (SYSTEM_PROMPT_BLOCKS.max - SYSTEM_PROMPT_BLOCKS.min + 1)))),
    );
    const systemHashes = this.#systemPrompts.map((tokens) => hashesOf(tokens));
    this.workers = Array.from({ length: numWorkers }, (_, w) => {
      const systemPrompts = this.#drawSystemPrompts();
      const first = this.#systemPrompts[systemPrompts[0]!]!;
      const conversationTokens = [...first, ...this.#tokens(PROMPT_TOKENS - first.length)];
      const realHashes = [...new Set([...systemPrompts.flatMap((p) => systemHashes[p]!), ...hashesOf(conversationTokens)])];
      const fillerBlocks = blocksPerWorker - realHashes.length;
      if (fillerBlocks < PROMPT_BLOCKS) throw new Error(`blocksPerWorker ${blocksPerWorker} leaves no room for churn`);
      return { id: `w${String(w).padStart(4, "0")}`, systemPrompts, conversationTokens, realHashes, fillerBlocks, lastSeq: 0, storeCursor: fillerBlocks };
    });
  }

  /** Entries a full index holds: (block, worker) pairs. */
  get entries(): number {
    return this.workers.length * this.blocksPerWorker;
  }

  /** Worker `w`'s whole cache as its first batch (seq 1…): stored K and V per group of blocks. */
  fillBatch(w: number): KvEventBatch {
    const worker = this.workers[w]!;
    const events: KvEvent[] = [];
    const storeBoth = (blockHashes: bigint[]) => {
      events.push({ kind: "stored", seq: events.length + 1, component: "k", tier: "device", blockHashes });
      events.push({ kind: "stored", seq: events.length + 1, component: "v", tier: "device", blockHashes });
    };
    storeBoth(worker.realHashes);
    for (let from = 0; from < worker.fillerBlocks; from += PROMPT_BLOCKS) storeBoth(fillerHashes(w, from, Math.min(PROMPT_BLOCKS, worker.fillerBlocks - from)));
    return { workerId: worker.id, epoch: EPOCH, firstSeq: 1, events };
  }

  /** Seq of the last fill event of worker `w` (the fill is built lazily, after churn is planned). */
  fillEvents(w: number): number {
    return 2 + 2 * Math.ceil(this.workers[w]!.fillerBlocks / PROMPT_BLOCKS);
  }

  /**
   * `requests` requests, flushed every `flushMs` at `requestsPerSecond`
   * cluster-wide, each to a random worker: one batch per worker per flush
   * that had any, 4 events per request (stored K, stored V, removed K, removed V).
   */
  churnBatches(requests: number, requestsPerSecond: number, flushMs: number): KvEventBatch[] {
    const perFlush = Math.max(1, Math.round((requestsPerSecond * flushMs) / 1_000));
    const batches: KvEventBatch[] = [];
    for (let done = 0; done < requests; done += perFlush) {
      const pending = new Map<number, KvEvent[]>();
      for (let r = 0; r < Math.min(perFlush, requests - done); r++) {
        const w = Math.floor(this.#random() * this.workers.length);
        const worker = this.workers[w]!;
        if (worker.lastSeq === 0) worker.lastSeq = this.fillEvents(w);
        const stored = fillerHashes(w, worker.storeCursor, PROMPT_BLOCKS);
        const evicted = fillerHashes(w, worker.storeCursor - worker.fillerBlocks, PROMPT_BLOCKS);
        worker.storeCursor += PROMPT_BLOCKS;
        const events = pending.get(w) ?? [];
        pending.set(w, events);
        for (const [kind, component, blockHashes] of [["stored", "k", stored], ["stored", "v", stored], ["removed", "k", evicted], ["removed", "v", evicted]] as const) {
          events.push({ kind, seq: ++worker.lastSeq, component, tier: "device", blockHashes });
        }
      }
      for (const [w, events] of pending) batches.push({ workerId: this.workers[w]!.id, epoch: EPOCH, firstSeq: events[0]!.seq, events });
    }
    return batches;
  }

  /** `count` prompts of PROMPT_TOKENS: 40 % a shared system prompt + a new message, 30 % a returning conversation, 30 % unique. */
  probes(count: number): Probe[] {
    return Array.from({ length: count }, () => {
      const draw = this.#random();
      if (draw < 0.4) {
        const system = this.#systemPrompts[this.#zipf()]!;
        return { kind: "shared-system", tokens: [...system, ...this.#tokens(PROMPT_TOKENS - system.length)] };
      }
      if (draw < 0.7) {
        const worker = this.workers[Math.floor(this.#random() * this.workers.length)]!;
        const prefix = worker.conversationTokens.slice(0, RETURNING_PREFIX_BLOCKS * BLOCK_SIZE_TOKENS);
        return { kind: "returning", tokens: [...prefix, ...this.#tokens(PROMPT_TOKENS - prefix.length)] };
      }
      return { kind: "unique", tokens: this.#tokens(PROMPT_TOKENS) };
    });
  }

  #tokens(length: number): number[] {
    return Array.from({ length }, () => Math.floor(this.#random() * VOCAB));
  }

  /** A system prompt index, Zipf (s = 1) over NUM_SYSTEM_PROMPTS. */
  #zipf(): number {
    const total = harmonic(NUM_SYSTEM_PROMPTS);
    let target = this.#random() * total;
    for (let p = 0; p < NUM_SYSTEM_PROMPTS; p++) {
      target -= 1 / (p + 1);
      if (target <= 0) return p;
    }
    return NUM_SYSTEM_PROMPTS - 1;
  }

  #drawSystemPrompts(): number[] {
    const chosen = new Set<number>();
    while (chosen.size < SYSTEM_PROMPTS_PER_WORKER) chosen.add(this.#zipf());
    return [...chosen];
  }
}

/** The router's hashes of `tokens`, the same call the router makes (shared namespace, default seed). */
export function hashesOf(tokens: readonly number[]): bigint[] {
  return prefixBlockHashes(tokens, { blockSizeTokens: BLOCK_SIZE_TOKENS, modelId: MODEL_ID });
}

function harmonic(n: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / i;
  return sum;
}
