/**
 * Runs the dense stages in onnxruntime-node.
 *
 * `runStage` is the engine's door: it feeds one stage and returns its
 * outputs as Float32Arrays. `forward` is a whole-sequence forward pass for
 * one prompt that fills the gap between stages with plain causal attention;
 * it backs `sigmaserve model logits --path ort` and checks the graphs against
 * the reference.
 *
 * Session settings: CPU execution provider, sequential execution, one
 * inter-op thread, and a fixed intra-op thread count chosen by the caller
 * (default 1), because results then do not depend on the machine's core count.
 */
import * as ort from "onnxruntime-node";
import type { ModelConfig } from "../config/index.js";
import { causalAttention } from "../reference/reference-forward.js";
import type { TensorMap } from "../tensor.js";
import { ropeTables } from "../onnx/dense-ops.js";
import { STAGE_INPUTS, STAGE_OUTPUTS, buildDenseStage } from "../onnx/dense-stages.js";

/** ORT log level: 3 = errors only (ORT prints coloured warnings to stderr otherwise). */
const ORT_LOG_SEVERITY_ERROR = 3;

export interface OrtDenseModelOptions {
  /** Threads ORT uses inside one op (GEMM); default 1. */
  intraOpThreads?: number;
}

/** What a middle or first stage returns. */
export interface AttentionInputs {
  /** Residual stream entering the layer, [N, H]. */
  hidden: Float32Array;
  /** [N, n_q·d], after augmented Q and RoPE. */
  q: Float32Array;
  /** [N, n_k·d], after RoPE (what the cache stores). */
  k: Float32Array;
  /** [N, n_v·d]. */
  v: Float32Array;
}

export class OrtDenseModel {
  private readonly rope: { cos: Float32Array; sin: Float32Array };

  private constructor(
    readonly config: ModelConfig,
    private readonly sessions: ort.InferenceSession[],
  ) {
    this.rope = ropeTables(config);
  }

  /** Builds every stage's graph and opens a session for each. */
  static async create(config: ModelConfig, weights: TensorMap, options: OrtDenseModelOptions = {}): Promise<OrtDenseModel> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      logSeverityLevel: ORT_LOG_SEVERITY_ERROR,
      // Each of the L+1 stage sessions has its own intra-op pool; with spinning on (ORT's default) every pool
      // thread spins after each run, so at 2 threads a worker burnt ~27 ms of CPU per token against ~4 ms off
      // (issue 16's peer bench). The flattened key is session.intra_op.allow_spinning.
      extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
    };
    const sessions: ort.InferenceSession[] = [];
    try {
      for (let index = 0; index <= config.num_hidden_layers; index++) {
        // Built one at a time so only one serialised graph is alive at once.
        sessions.push(await ort.InferenceSession.create(buildDenseStage(config, weights, index).bytes, sessionOptions));
      }
    } catch (err) {
      await Promise.all(sessions.map((session) => session.release()));
      throw err;
    }
    return new OrtDenseModel(config, sessions);
  }

  /** cos and sin rows [N, d/2] for the given positions. */
  ropeRows(positions: readonly number[]): { cos: ort.Tensor; sin: ort.Tensor } {
    const half = this.config.head_dim / 2;
    const cos = new Float32Array(positions.length * half);
    const sin = new Float32Array(positions.length * half);
    positions.forEach((position, row) => {
      if (!Number.isInteger(position) || position < 0 || position >= this.config.max_position_embeddings) {
        throw new RangeError(`position ${position} outside [0, ${this.config.max_position_embeddings})`);
      }
      cos.set(this.rope.cos.subarray(position * half, (position + 1) * half), row * half);
      sin.set(this.rope.sin.subarray(position * half, (position + 1) * half), row * half);
    });
    return { cos: new ort.Tensor("float32", cos, [positions.length, half]), sin: new ort.Tensor("float32", sin, [positions.length, half]) };
  }

  /** Stage 0: embeddings and layer 0 up to attention. */
  async embedAndProject(tokenIds: readonly number[], positions: readonly number[]): Promise<AttentionInputs> {
    const ids = new ort.Tensor("int64", BigInt64Array.from(tokenIds, BigInt), [tokenIds.length]);
    return this.attentionInputs(await this.sessions[0]!.run({ [STAGE_INPUTS.inputIds]: ids, ...this.ropeFeeds(positions) }));
  }

  /** Stage `layer` (1 … L-1): finishes layer-1 from its attention output and projects layer. */
  async finishAndProject(layer: number, hidden: Float32Array, attention: Float32Array, positions: readonly number[]): Promise<AttentionInputs> {
    if (layer < 1 || layer >= this.config.num_hidden_layers) throw new RangeError(`layer ${layer} is not a middle stage`);
    const outputs = await this.sessions[layer]!.run({ ...this.layerFeeds(hidden, attention), ...this.ropeFeeds(positions) });
    return this.attentionInputs(outputs);
  }

  /** Stage L: finishes the last layer, then final norm and lm_head for the chosen rows. Returns [rows, vocab]. */
  async finishAndLogits(hidden: Float32Array, attention: Float32Array, logitRows: readonly number[]): Promise<Float32Array> {
    const rows = new ort.Tensor("int64", BigInt64Array.from(logitRows, BigInt), [logitRows.length]);
    const outputs = await this.sessions[this.config.num_hidden_layers]!.run({ ...this.layerFeeds(hidden, attention), [STAGE_INPUTS.logitRows]: rows });
    return outputs[STAGE_OUTPUTS.logits]!.data as Float32Array;
  }

  /**
   * Whole-sequence forward for one prompt with plain causal attention between
   * the stages. Returns logits for every position, [tokens, vocab].
   */
  async forward(tokenIds: readonly number[], options: { startPosition?: number } = {}): Promise<Float32Array> {
    const start = options.startPosition ?? 0;
    const positions = tokenIds.map((_, t) => start + t);
    let stage = await this.embedAndProject(tokenIds, positions);
    for (let layer = 0; layer < this.config.num_hidden_layers; layer++) {
      const attention = causalAttention(this.config, stage.q, stage.k, stage.v, tokenIds.length);
      if (layer === this.config.num_hidden_layers - 1) {
        return this.finishAndLogits(stage.hidden, attention, positions.map((_, t) => t));
      }
      stage = await this.finishAndProject(layer + 1, stage.hidden, attention, positions);
    }
    throw new Error("unreachable: a model has at least one layer");
  }

  async release(): Promise<void> {
    await Promise.all(this.sessions.map((session) => session.release()));
  }

  private ropeFeeds(positions: readonly number[]): Record<string, ort.Tensor> {
    const { cos, sin } = this.ropeRows(positions);
    return { [STAGE_INPUTS.cos]: cos, [STAGE_INPUTS.sin]: sin };
  }

  private layerFeeds(hidden: Float32Array, attention: Float32Array): Record<string, ort.Tensor> {
    const rows = hidden.length / this.config.hidden_size;
    return {
      [STAGE_INPUTS.hidden]: new ort.Tensor("float32", hidden, [rows, this.config.hidden_size]),
      [STAGE_INPUTS.attention]: new ort.Tensor("float32", attention, [rows, this.config.num_attention_heads * this.config.head_dim]),
    };
  }

  private attentionInputs(outputs: ort.InferenceSession.OnnxValueMapType): AttentionInputs {
    const data = (name: string) => outputs[name]!.data as Float32Array;
    return { hidden: data(STAGE_OUTPUTS.hidden), q: data(STAGE_OUTPUTS.q), k: data(STAGE_OUTPUTS.k), v: data(STAGE_OUTPUTS.v) };
  }
}
