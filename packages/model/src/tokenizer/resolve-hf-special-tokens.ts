/**
 * Finds the BOS/EOS/PAD ids of a Hugging Face tokenizer. transformers keeps
 * their names in tokenizer_config.json as `bos_token`, `eos_token` and
 * `pad_token`, each either a string or (older files) an AddedToken object
 * `{ "__type": "AddedToken", "content": "<s>", ... }`, or null. A name that
 * is not in the vocabulary is an error rather than a silent undefined: a
 * wrong EOS id means generation never stops.
 */
import { TokenizerError } from "./errors.js";
import { isJsonObject, type JsonObject } from "./read-json-file.js";

export interface HfSpecialTokenIds {
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
}

export function resolveHfSpecialTokens(
  config: JsonObject,
  tokenToId: (token: string) => number | undefined,
  source: string,
): HfSpecialTokenIds {
  const resolve = (field: string): number | undefined => {
    const value = config[field];
    if (value === undefined || value === null) return undefined;
    const token = typeof value === "string" ? value : isJsonObject(value) ? value["content"] : undefined;
    if (typeof token !== "string") {
      throw new TokenizerError(`"${field}" must be a string, an AddedToken object with "content", or null`, { source });
    }
    const id = tokenToId(token);
    if (id === undefined) throw new TokenizerError(`"${field}" ${JSON.stringify(token)} is not in the vocabulary`, { source });
    return id;
  };
  return { bosTokenId: resolve("bos_token"), eosTokenId: resolve("eos_token"), padTokenId: resolve("pad_token") };
}
