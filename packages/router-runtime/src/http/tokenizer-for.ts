/** The model's tokenizer for display purposes (logprob token texts), or undefined when the router has none. */
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import type { RequestPipeline } from "../request-pipeline.js";

export function tokenizerFor(pipeline: RequestPipeline, model: string): Tokenizer | undefined {
  try {
    return pipeline.tokenizers.get(model, pipeline.pool);
  } catch {
    return undefined;
  }
}
