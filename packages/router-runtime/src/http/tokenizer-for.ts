/** The model's tokenizer for display purposes (logprob token texts), or undefined when the router has none. */
import type { Tokenizer } from "@sigmaserve/model/tokenizer";
import type { RouterCore } from "../router-core.js";

export function tokenizerFor(core: RouterCore, model: string): Tokenizer | undefined {
  try {
    return core.tokenizers.get(model, core.pool);
  } catch {
    return undefined;
  }
}
