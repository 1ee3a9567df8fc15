/**
 * One batch step of the model over the paged KV cache.
 *
 * Model. A step computes a ragged batch: each scheduled sequence brings the
 * next tokens whose K and V are not yet in the cache (a prefill chunk, or the
 * one token of a decode). Their rows are packed into one [N, H] batch and go
 * through the dense stages in onnxruntime-node. Between stages, per layer:
 * every row's K (after RoPE) and V are written into the sequence's blocks,
 * then the attention kernel reads K and V back through the block tables (so a
 * prefill row sees the rows of its own chunk that precede it). Logits are
 * computed only for the rows that end a sequence's known tokens, and for the
 * prompt rows of a sequence that asks for prompt logprobs: those rows are
 * reduced to their next prompt token's logprob and the best N at once, so a
 * chunk's [rows, vocab] logits never leave the step.
 *
 * K and V are read through the manager's attention view (the pool's arenas,
 * zero-copy, and each block's slots and V tier); the runner never touches the
 * block pool. K is always on the device; in selective-V mode a block's V may
 * be on the host, and the kernel reads those rows in place.
 *
 * Rows never influence each other: ORT's dense ops give a row the same bits
 * whatever N is (checked in the tests), and the kernel computes each row on
 * its own. So a position's logits do not depend on the batch or the chunking,
 * which is what makes failover by token replay exact.
 */
import type { KvAttentionView, KvBlockSlots, KvCacheManager } from "@sigmaserve/kvcache";
import type { ModelConfig } from "@sigmaserve/model/config";
import type { OrtDenseModel } from "@sigmaserve/model/runtime";
import type { AttentionArenas, AttentionKernel, AttentionReadStats, AttentionShape } from "../attention/attention-kernel.js";
import { type PromptTokenLogprob, promptTokenLogprob } from "../sampler/prompt-logprobs.js";

/** What a sequence asks of its prompt rows (vLLM's prompt_logprobs). */
export interface StepPromptLogprobs {
  /** Best alternatives per position, 0 … MAX_LOGPROBS. */
  topN: number;
  /**
   * The token that follows each of the first `targets.length` rows of `tokens` in the prompt: row i (position
   * startPosition + i) scores targets[i]. Shorter than `tokens` when the chunk reaches the prompt's last token
   * (nothing in the prompt follows it) or goes past it (replayed tokens).
   */
  targets: readonly number[];
}

/** One sequence's share of a step. */
export interface StepSequence {
  /** The request's id in the KV-cache manager (its blocks must already be reserved). */
  requestId: string;
  /** Position of tokens[0]: the number of tokens already in the cache. */
  startPosition: number;
  /** Tokens to compute this step. */
  tokens: readonly number[];
  /** Whether to return logits for the last of `tokens` (the sequence is caught up and samples next). */
  wantLogits: boolean;
  /** Prompt logprobs for the rows of this chunk; absent for none. */
  promptLogprobs?: StepPromptLogprobs;
}

export interface StepResult {
  /** Logits rows, [vocab] each, for the sequences that asked. */
  logits: Map<string, Float32Array>;
  /**
   * For the sequences that asked: entry i scores the prompt token at position startPosition + i + 1 (the
   * sequence's targets[i]) under row i's logits.
   */
  promptLogprobs: Map<string, PromptTokenLogprob[]>;
  /** Tokens computed (rows). */
  numRows: number;
  /** Bytes the attention kernel read, summed over layers. */
  reads: AttentionReadStats;
  /**
   * V bytes full attention reads for this step, summed over layers: each (row, V head) reads all of its
   * positions' V rows once, at V's stored width. Against `reads`, what selective V skipped.
   */
  fullAttentionVBytes: number;
  /** Where the step's wall time went, in milliseconds (the rest of a step is the caller's: scheduling, sampling). */
  timings: StepTimings;
}

/** Milliseconds of one step by phase. */
export interface StepTimings {
  /** The ORT dense stages (embedding, projections, MLPs, logits). */
  denseMs: number;
  /** The attention kernel, all layers. */
  attentionMs: number;
  /** Writing K and V rows into the cache (`writeTokenKv`), all layers. */
  kvWriteMs: number;
}

export interface ModelRunnerOptions {
  config: ModelConfig;
  dense: OrtDenseModel;
  kv: KvCacheManager;
  kernel: AttentionKernel;
  /** Selective-V top-k per (row, Q head); 0 = full attention. */
  selectiveVTopk?: number;
}

export class ModelRunner {
  private readonly config: ModelConfig;
  private readonly shape: AttentionShape;
  private readonly view: KvAttentionView;
  private readonly arenas: AttentionArenas;
  /** Bytes of one stored V element (4 for f32, 2 for bf16 and f16): what a V row read costs. */
  private readonly vElementBytes: number;

  constructor(private readonly options: ModelRunnerOptions) {
    this.config = options.config;
    this.view = options.kv.attentionView();
    this.shape = {
      numLayers: this.config.num_hidden_layers,
      numQueryHeads: this.config.num_attention_heads,
      numKeyHeads: this.config.num_key_heads,
      numValueHeads: this.config.num_value_heads,
      headDim: this.config.head_dim,
      blockSizeTokens: this.view.blockSizeTokens,
    };
    // The arenas in their stored dtypes (f32, or raw bf16/f16 patterns): the kernel widens as it reads.
    this.arenas = { kDtype: this.view.dtype.k, vDtype: this.view.dtype.v, kDevice: this.view.kDevice, vDevice: this.view.vDevice, vHost: this.view.vHost };
    this.vElementBytes = this.view.dtype.v === "f32" ? 4 : 2;
  }

  async step(sequences: readonly StepSequence[]): Promise<StepResult> {
    const { kv, dense, kernel } = this.options;
    const config = this.config;
    const { num_attention_heads: nQ, num_key_heads: nK, num_value_heads: nV, head_dim: d } = config;
    const numRows = sequences.reduce((sum, s) => sum + s.tokens.length, 0);
    const tokenIds = new Array<number>(numRows);
    const positions = new Array<number>(numRows);
    const rowSeq = new Int32Array(numRows);
    const rowPos = new Int32Array(numRows);
    const logitRows: number[] = [];
    const logitOwners: string[] = [];
    // Prompt rows to score: their logits come after the sampling rows of logitRows, in this order.
    const promptRows: { row: number; owner: string; target: number; topN: number }[] = [];
    let row = 0;
    sequences.forEach((sequence, s) => {
      const wanted = sequence.promptLogprobs;
      if (wanted !== undefined) {
        if (wanted.targets.length > sequence.tokens.length) throw new RangeError(`sequence ${sequence.requestId}: ${wanted.targets.length} prompt logprob targets for ${sequence.tokens.length} tokens`);
        wanted.targets.forEach((target, i) => promptRows.push({ row: row + i, owner: sequence.requestId, target, topN: wanted.topN }));
      }
      sequence.tokens.forEach((token, i) => {
        tokenIds[row] = token;
        positions[row] = sequence.startPosition + i;
        rowSeq[row] = s;
        rowPos[row] = sequence.startPosition + i;
        row++;
      });
      if (sequence.wantLogits) {
        logitRows.push(row - 1);
        logitOwners.push(sequence.requestId);
      }
    });
    // Block tables do not change during a step: their lengths lay out the block arrays once.
    const tables = sequences.map((sequence) => kv.blockTable(sequence.requestId));
    const seqBlockStart = new Int32Array(sequences.length + 1);
    tables.forEach((table, s) => (seqBlockStart[s + 1] = seqBlockStart[s]! + table.length));
    const totalBlocks = seqBlockStart[sequences.length]!;
    const blockSlots: KvBlockSlots = { kSlot: new Int32Array(totalBlocks), vSlot: new Int32Array(totalBlocks), vTier: new Uint8Array(totalBlocks) };
    const reads: AttentionReadStats = { vBytesDevice: 0, vBytesHost: 0, kBytes: 0 };
    const out = new Float32Array(numRows * nQ * d);

    const timings: StepTimings = { denseMs: 0, attentionMs: 0, kvWriteMs: 0 };
    let mark = performance.now();
    // Adds the time since the last mark to `phase` and moves the mark.
    const lap = (phase: keyof StepTimings) => {
      const now = performance.now();
      timings[phase] += now - mark;
      mark = now;
    };
    let stage = await dense.embedAndProject(tokenIds, positions);
    lap("denseMs");
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      for (let r = 0; r < numRows; r++) {
        const sequence = sequences[rowSeq[r]!]!;
        kv.writeTokenKv(sequence.requestId, rowPos[r]!, layer, stage.k.subarray(r * nK * d, (r + 1) * nK * d), stage.v.subarray(r * nV * d, (r + 1) * nV * d));
      }
      // Residency can change only between steps, but read it after the writes of the first layer to be safe.
      if (layer === 0) sequences.forEach((sequence, s) => this.view.fillBlockSlots(sequence.requestId, blockSlots, seqBlockStart[s]!));
      lap("kvWriteMs");
      const stats = kernel.attend(this.shape, this.arenas, {
        layer,
        q: stage.q,
        out,
        rowSeq,
        rowPos,
        seqBlockStart,
        blockKSlot: blockSlots.kSlot,
        blockVSlot: blockSlots.vSlot,
        blockVTier: blockSlots.vTier,
        topk: this.options.selectiveVTopk ?? 0,
      });
      reads.vBytesDevice += stats.vBytesDevice;
      reads.vBytesHost += stats.vBytesHost;
      reads.kBytes += stats.kBytes;
      lap("attentionMs");
      if (layer + 1 < config.num_hidden_layers) {
        stage = await dense.finishAndProject(layer + 1, stage.hidden, out, positions);
        lap("denseMs");
      } else {
        const allRows = promptRows.length === 0 ? logitRows : [...logitRows, ...promptRows.map((p) => p.row)];
        const logits = allRows.length === 0 ? new Float32Array(0) : await dense.finishAndLogits(stage.hidden, out, allRows);
        lap("denseMs");
        const vocab = config.vocab_size;
        const byOwner = new Map<string, Float32Array>();
        logitOwners.forEach((owner, i) => byOwner.set(owner, logits.subarray(i * vocab, (i + 1) * vocab)));
        const promptLogprobs = new Map<string, PromptTokenLogprob[]>();
        promptRows.forEach((p, i) => {
          const at = logitRows.length + i;
          let entries = promptLogprobs.get(p.owner);
          if (entries === undefined) promptLogprobs.set(p.owner, (entries = []));
          entries.push(promptTokenLogprob(logits.subarray(at * vocab, (at + 1) * vocab), p.target, p.topN));
        });
        let positionsRead = 0;
        for (let r = 0; r < numRows; r++) positionsRead += rowPos[r]! + 1;
        return { logits: byOwner, promptLogprobs, numRows, reads, timings, fullAttentionVBytes: config.num_hidden_layers * positionsRead * nV * d * this.vElementBytes };
      }
    }
    throw new Error("unreachable: a model has at least one layer");
  }
}
