/**
 * The peer: transformers.js (pinned 4.3.1) running our exported graph
 * (onnx/model.onnx) from the same model directory, offline: remote models
 * off, the directory's parent as the local model path. fp32 on the CPU
 * execution provider of onnxruntime-node, with the intra-op thread count the
 * bench gives our worker, and one inter-op thread (ours runs sequentially too).
 *
 * A batch is one `generate` call over left-padded prompts (input_ids and
 * attention_mask built here; transformers.js derives position_ids from the
 * mask), greedy, EOS ignored (eos_token_id null, so no stopping criterion and
 * no logits change), exactly `maxTokens` new tokens per prompt: its own
 * batching, and what it does best here. NOTE: 16 concurrent `generate` calls
 * on one session would let onnxruntime-node run several session.run on
 * libuv's pool at once, i.e. more threads than the budget both sides get.
 *
 * The wrapper also times every session.run, so the bench can say what share
 * of the peer's wall time is ORT and what is transformers.js around it.
 */
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env, type PreTrainedModel, type PreTrainedTokenizer } from "@huggingface/transformers";

export interface TransformersPeer {
  /** Token ids of `text`, BOS added as the tokenizer's post-processor says. */
  encode(text: string): number[];
  /** One batched greedy generate; returns each prompt's new token ids. */
  generate(prompts: readonly (readonly number[])[], maxTokens: number): Promise<number[][]>;
  /** Milliseconds spent inside session.run since the last call (then reset). */
  takeOrtMs(): number;
  release(): Promise<void>;
}

interface TimedSession {
  run(feeds: unknown, ...rest: unknown[]): Promise<unknown>;
}

/** Loads `<modelsRoot>/<name>` (config.json, generation_config.json, tokenizer files, onnx/model.onnx). */
export async function loadTransformersPeer(modelsRoot: string, name: string, threads: number): Promise<TransformersPeer> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${modelsRoot}/`;
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(name);
  const model: PreTrainedModel = await AutoModelForCausalLM.from_pretrained(name, {
    dtype: "fp32",
    device: "cpu",
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" },
  });
  const session = (model as unknown as { sessions: Record<string, TimedSession> }).sessions["model"];
  if (session === undefined) throw new Error("transformers.js: the model has no 'model' session (is onnx/model.onnx there?)");
  let ortMs = 0;
  const run = session.run.bind(session);
  session.run = async (feeds, ...rest) => {
    const start = performance.now();
    try {
      return await run(feeds, ...rest);
    } finally {
      ortMs += performance.now() - start;
    }
  };
  const padId = 0;
  return {
    encode: (text) => (tokenizer.encode(text) as number[]).map(Number),
    async generate(prompts, maxTokens) {
      const width = Math.max(...prompts.map((p) => p.length));
      const ids = new BigInt64Array(prompts.length * width);
      const mask = new BigInt64Array(prompts.length * width);
      prompts.forEach((prompt, row) => {
        const offset = row * width + width - prompt.length;
        prompt.forEach((id, i) => {
          ids[offset + i] = BigInt(id);
          mask[offset + i] = 1n;
        });
        for (let i = row * width; i < offset; i++) ids[i] = BigInt(padId);
      });
      const dims = [prompts.length, width];
      const output = (await model.generate({
        input_ids: new Tensor("int64", ids, dims),
        attention_mask: new Tensor("int64", mask, dims),
        max_new_tokens: maxTokens,
        do_sample: false,
        eos_token_id: null,
      } as never)) as Tensor;
      return (output.tolist() as bigint[][]).map((row) => row.slice(width).map(Number));
    },
    takeOrtMs() {
      const ms = ortMs;
      ortMs = 0;
      return ms;
    },
    release: async () => {
      await model.dispose();
    },
  };
}
