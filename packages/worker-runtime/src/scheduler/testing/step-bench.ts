/**
 * A bench for driving the step scheduler by hand, as vLLM's scheduler tests
 * do: a real KV-cache manager with a pool of `numBlocks` blocks of 4 tokens
 * (so "full" happens after a few requests), the demo model's byte tokenizer,
 * and a fake model whose next token is the last known token plus one (mod 256),
 * an oracle a reader computes by hand. Greedy sampling turns the fake's one-hot
 * logits into exactly that token.
 *
 * The shape is one layer with one K and one V head of dim 1: a block is 16
 * bytes per component, and K and V pools hold the same number of blocks.
 */
import type { SamplingParams, StepSequence } from "@sigmaserve/engine";
import { KvCacheManager, type KvModelShape } from "@sigmaserve/kvcache";
import { BYTE_EOS_TOKEN_ID, BYTE_VOCAB_SIZE, ByteTokenizer } from "@sigmaserve/model/tokenizer";
import assert from "node:assert/strict";
import type { RequestFinish, SubmitRequest } from "../engine-request.js";
import { StepScheduler, type StepOutput, type StepPlan } from "../step-scheduler.js";

export const BLOCK_SIZE_TOKENS = 4;
const SHAPE: KvModelShape = { num_hidden_layers: 1, num_key_heads: 1, num_value_heads: 1, head_dim: 1 };
/** f32 bytes of one block of either component in SHAPE. */
const BLOCK_BYTES = BLOCK_SIZE_TOKENS * 4;

/** The fake model's next token after `token`. */
export const nextToken = (token: number): number => (token + 1) % 256;

/** `count` tokens from `first` up (each the fake model's next after the one before). */
export const run = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => (first + i) % 256);

/** A real KV-cache manager over `numBlocks` blocks of BLOCK_SIZE_TOKENS tokens, device only. */
export function benchKvCache(numBlocks: number): KvCacheManager {
  const bytes = { device: numBlocks * BLOCK_BYTES, host: 0 };
  return new KvCacheManager({ shape: SHAPE, blockSizeTokens: BLOCK_SIZE_TOKENS, modelId: "step-bench", bytes: { k: bytes, v: bytes } });
}

/** The demo model's tokenizer and its EOS, which the bench's requests ignore. */
export const BENCH_TOKENIZER = new ByteTokenizer();
export const BENCH_EOS_TOKEN_IDS = [BYTE_EOS_TOKEN_ID];

/** The fake model's output for a step: a one-hot row on the next token for every sequence that wants logits. */
export function fakeModelOutput(sequences: readonly StepSequence[]): StepOutput {
  const logits = new Map<string, Float32Array>();
  for (const s of sequences) {
    if (!s.wantLogits) continue;
    const row = new Float32Array(BYTE_VOCAB_SIZE);
    row[nextToken(s.tokens[s.tokens.length - 1]!)] = 1;
    logits.set(s.requestId, row);
  }
  return { logits, numRows: sequences.reduce((sum, s) => sum + s.tokens.length, 0) };
}

export interface BenchRequest {
  maxTokens?: number;
  priority?: number;
  stop?: string[];
  stopTokenIds?: number[];
  cacheSalt?: string;
  replayTokens?: number[];
  replayText?: string;
}

/** A greedy request that ignores EOS (default max_tokens 16, priority 0). */
export function benchSubmit(requestId: string, promptTokens: number[], request: BenchRequest = {}): SubmitRequest {
  const params: SamplingParams = {
    maxTokens: request.maxTokens ?? 16,
    temperature: 0,
    topP: 1,
    topK: 0,
    seed: 0n,
    stop: request.stop ?? [],
    stopTokenIds: request.stopTokenIds ?? [],
    logprobs: undefined,
    promptLogprobs: undefined,
    ignoreEos: true,
    minTokens: 0,
    repetitionPenalty: 1,
    minP: 0,
    includeStopStrInOutput: false,
    skipSpecialTokens: true,
  };
  return {
    requestId,
    promptTokens,
    params,
    cacheSalt: request.cacheSalt ?? "",
    priority: request.priority ?? 0,
    ...(request.replayTokens === undefined ? {} : { replayTokens: request.replayTokens }),
    ...(request.replayText === undefined ? {} : { replayText: request.replayText }),
  };
}

/** What one request streamed, and how it ended. */
export interface BenchOutput {
  tokens: number[];
  text: string;
  finish: RequestFinish | undefined;
  /** The sink's progress reports, as text: "chunk N to C/K", "preempted at C". */
  progress: string[];
}

export class StepBench {
  readonly kv: KvCacheManager;
  readonly scheduler: StepScheduler;
  readonly outputs = new Map<string, BenchOutput>();
  /** The fake model's KV cache: the token id written at each slot of each block id, as the steps wrote them. */
  private readonly blockContents = new Map<number, number[]>();
  /** Each request's prompt and replayed tokens: its known tokens are these, then its outputs. */
  private readonly inputs = new Map<string, number[]>();

  constructor(private readonly options: { numBlocks: number; maxBatchTokens: number; maxNumSeqs?: number }) {
    this.kv = benchKvCache(options.numBlocks);
    this.scheduler = new StepScheduler({
      kv: this.kv,
      tokenizer: BENCH_TOKENIZER,
      eosTokenIds: BENCH_EOS_TOKEN_IDS,
      maxBatchTokens: options.maxBatchTokens,
      maxNumSeqs: options.maxNumSeqs ?? 64,
    });
  }

  /** Submits a greedy request that ignores EOS. Returns false when it finished at once. */
  add(requestId: string, promptTokens: number[], request: BenchRequest = {}): boolean {
    const submit = benchSubmit(requestId, promptTokens, request);
    const output: BenchOutput = { tokens: [], text: "", finish: undefined, progress: [] };
    this.outputs.set(requestId, output);
    this.inputs.set(requestId, [...promptTokens, ...(request.replayTokens ?? [])]);
    return this.scheduler.add(submit, {
      onChunk: (chunk) => {
        assert.equal(chunk.completionOffset, output.tokens.length + (request.replayTokens?.length ?? 0), `${requestId}: chunks have no gaps`);
        output.tokens.push(...chunk.tokenIds);
        output.text += chunk.textDelta;
      },
      onFinish: (finish) => {
        assert.equal(output.finish, undefined, `${requestId} finishes once`);
        output.finish = finish;
      },
      onProgress: (progress) => output.progress.push(progress.kind === "prefill_chunk" ? `chunk ${progress.tokens} to ${progress.computed}/${progress.known}` : `preempted at ${progress.computedBefore}`),
    });
  }

  /** One step as the engine loop runs it: schedule(), then the fake model and update() unless the plan is empty. Returns the plan. */
  step(): StepPlan {
    const plan = this.schedule();
    if (plan.sequences.length > 0) this.update(plan);
    return plan;
  }

  /** schedule() alone, checking the plan keeps the limits and every sequence has its slots reserved (what the real runner relies on). */
  schedule(): StepPlan {
    const plan = this.scheduler.schedule();
    assert.ok(plan.sequences.reduce((sum, s) => sum + s.tokens.length, 0) <= this.options.maxBatchTokens, "the plan keeps the token budget");
    assert.ok(this.scheduler.stats().running <= (this.options.maxNumSeqs ?? 64), "the plan keeps maxNumSeqs");
    assert.equal(new Set(plan.sequences.map((s) => s.requestId)).size, plan.sequences.length, "a request appears once in a plan");
    for (const s of plan.sequences) {
      assert.ok(s.tokens.length > 0, `${s.requestId}: a scheduled chunk is not empty`);
      assert.equal(this.kv.numComputedTokens(s.requestId), s.startPosition, `${s.requestId}: the manager agrees where the chunk starts`);
      assert.ok(this.kv.numSlotTokens(s.requestId) >= s.startPosition + s.tokens.length, `${s.requestId}: slots are reserved for the chunk`);
    }
    return plan;
  }

  /**
   * The fake model's output for `plan`, applied. Like a real model it writes
   * each computed token into its block's slot and reads the whole context back
   * through the block table, so a wrong block id, a stale cached block or a
   * skipped position shows up as a context that is not the request's tokens.
   */
  update(plan: StepPlan): void {
    for (const s of plan.sequences) {
      const table = this.kv.blockTable(s.requestId);
      s.tokens.forEach((token, i) => this.slot(table, s.startPosition + i, token));
      if (!s.wantLogits) continue;
      const context = Array.from({ length: s.startPosition + s.tokens.length }, (_, position) => this.slot(table, position));
      assert.deepEqual(context, [...this.inputs.get(s.requestId)!, ...this.output(s.requestId).tokens], `${s.requestId}: the cache holds its tokens`);
    }
    this.scheduler.update(plan, fakeModelOutput(plan.sequences));
  }

  /** Reads (or writes) the token at `position` through a block table. */
  private slot(table: readonly number[], position: number, write?: number): number | undefined {
    const blockId = table[Math.floor(position / BLOCK_SIZE_TOKENS)]!;
    let block = this.blockContents.get(blockId);
    if (block === undefined) this.blockContents.set(blockId, (block = []));
    if (write !== undefined) block[position % BLOCK_SIZE_TOKENS] = write;
    return block[position % BLOCK_SIZE_TOKENS];
  }

  /** Steps until no request is left; returns the number of steps. Throws past `maxSteps` (a scheduler that stalls). */
  runToEnd(maxSteps = 1_000): number {
    let steps = 0;
    while (this.scheduler.size > 0) {
      if (++steps > maxSteps) throw new Error(`still ${this.scheduler.size} requests after ${maxSteps} steps`);
      this.step();
    }
    return steps;
  }

  output(requestId: string): BenchOutput {
    const output = this.outputs.get(requestId);
    assert.ok(output, `request ${requestId} was added`);
    return output;
  }

  /** Blocks held by requests (K and V count alike here: every live block has both halves on the device). */
  usedBlocks(): number {
    const k = this.devicePool("k");
    assert.equal(k.usedBlocks, this.devicePool("v").usedBlocks, "K and V are held together");
    return k.usedBlocks;
  }

  /** Blocks that hold a cached prefix and no request. */
  cachedFreeBlocks(): number {
    return this.devicePool("k").cachedFreeBlocks;
  }

  private devicePool(component: "k" | "v"): ReturnType<KvCacheManager["usage"]>[number] {
    const row = this.kv.usage().find((u) => u.component === component && u.tier === "device");
    assert.ok(row, `the ${component} device pool exists`);
    return row;
  }

  /** Nothing is left: no request in the scheduler, none in the manager, no block held. */
  assertDrained(): void {
    assert.equal(this.scheduler.size, 0, "no request is left");
    assert.deepEqual([this.scheduler.runningIds(), this.scheduler.waitingIds()], [[], []]);
    for (const id of this.outputs.keys()) assert.equal(this.kv.has(id), false, `${id} holds no block table`);
    assert.equal(this.usedBlocks(), 0, "no block is held");
  }
}

/** A plan as [request id, start position, tokens] rows: what each request computes this step. */
export function chunksOf(plan: StepPlan): [string, number, number][] {
  return plan.sequences.map((s) => [s.requestId, s.startPosition, s.tokens.length]);
}

/** Ids of the sequences in a plan that sample a token this step. */
export function samplersOf(plan: StepPlan): string[] {
  return plan.sequences.filter((s) => s.wantLogits).map((s) => s.requestId);
}
