/**
 * A Hugging Face tokenizer (`tokenizer.json`, plus the optional
 * `tokenizer_config.json` that names BOS/EOS/PAD), run by the pure-JS
 * `@huggingface/tokenizers`. Everything is read from memory or local files;
 * nothing is ever fetched. Adding special tokens is left to the tokenizer's
 * own post-processor, as in transformers: a Llama-style TemplateProcessing
 * prepends BOS, while a GPT-2-style tokenizer adds nothing even though it
 * names a BOS token.
 *
 * NOTE: we never apply `clean_up_tokenization_spaces`, whatever the config
 * says (the library would default it to true). That pass rewrites text across
 * token boundaries (" ." becomes "."), so text already streamed to a client
 * could not match the one-shot decode; current transformers defaults it to
 * false as well.
 */
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { join } from "node:path";
import { InvalidTokenIdError, TokenizerError } from "./errors.js";
import type { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import { PrefixOffsetDetokenizer } from "./prefix-offset-detokenizer.js";
import {
  TOKENIZER_CONFIG_FILE_NAME,
  TOKENIZER_FILE_NAME,
  isJsonObject,
  parseJsonObject,
  readJsonFile,
  type JsonObject,
} from "./read-json-file.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "./tokenizer.js";
import { HF_TOKENIZER_SUMMARY_TYPE, type HfTokenizerSummary } from "./tokenizer-description.js";
import { resolveHfSpecialTokens } from "./resolve-hf-special-tokens.js";

/** Top-level tokenizer.json sections the library insists exist (null is fine); we fill in the missing ones. */
const OPTIONAL_SECTIONS = ["normalizer", "pre_tokenizer", "post_processor", "decoder"] as const;

/** Labels of the two inputs in error messages (file paths when loaded from disk). */
export interface HfTokenizerSources {
  readonly tokenizer?: string;
  readonly config?: string;
}

export class HfTokenizer implements Tokenizer {
  readonly kind = "hf";
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly maxTokenBytes: number;
  readonly #lib: HfLibTokenizer;

  private constructor(lib: HfLibTokenizer, config: JsonObject, configSource: string) {
    this.#lib = lib;
    let maxId = -1;
    let maxTokenBytes = 1;
    // NOTE: the UTF-8 length of each entry as written: exact for SentencePiece-style vocabularies, and twice
    // the bytes a byte-level BPE entry stands for (its alphabet maps each byte to a 2-byte character): an
    // upper bound either way, which is all the pre-tokenization size check needs.
    for (const [token, id] of lib.get_vocab(true)) {
      maxId = Math.max(maxId, id);
      // NOTE: the library lists a hole in sparse ids as an undefined token.
      if (typeof token === "string") maxTokenBytes = Math.max(maxTokenBytes, Buffer.byteLength(token));
    }
    this.maxTokenBytes = maxTokenBytes;
    // Ids need not be dense; vocabSize bounds them, and decode() rejects holes.
    this.vocabSize = maxId + 1;
    const special = resolveHfSpecialTokens(config, (token) => lib.token_to_id(token), configSource);
    this.bosTokenId = special.bosTokenId;
    this.eosTokenId = special.eosTokenId;
    this.padTokenId = special.padTokenId;
  }

  /**
   * Builds a tokenizer from the contents of tokenizer.json (parsed or as
   * text) and, optionally, tokenizer_config.json. Throws `TokenizerError`
   * naming the input when either is malformed or the library rejects it.
   */
  static fromJson(
    tokenizerJson: object | string,
    tokenizerConfig?: object | string,
    sources: HfTokenizerSources = {},
  ): HfTokenizer {
    const tokenizerSource = sources.tokenizer ?? TOKENIZER_FILE_NAME;
    const configSource = sources.config ?? TOKENIZER_CONFIG_FILE_NAME;
    const json = toJsonObject(tokenizerJson, tokenizerSource);
    const config = tokenizerConfig === undefined ? {} : toJsonObject(tokenizerConfig, configSource);
    if (!isJsonObject(json["model"])) {
      throw new TokenizerError('has no "model" object, so it is not a Hugging Face tokenizer.json', { source: tokenizerSource });
    }
    const completed: JsonObject = { ...json, added_tokens: json["added_tokens"] ?? [] };
    for (const section of OPTIONAL_SECTIONS) completed[section] = json[section] ?? null;
    let lib: HfLibTokenizer;
    try {
      lib = new HfLibTokenizer(completed, config);
    } catch (error) {
      throw new TokenizerError(`rejected by @huggingface/tokenizers: ${(error as Error).message}`, {
        source: tokenizerSource,
        cause: error,
      });
    }
    return new HfTokenizer(lib, config, configSource);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.#lib.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      // The library would turn an unknown id into its unk token, or silently into "".
      if (!Number.isInteger(id) || this.#lib.id_to_token(id) === undefined) {
        throw new InvalidTokenIdError(id, this.vocabSize);
      }
    }
    // The library throws on an empty array rather than returning "".
    if (ids.length === 0) return "";
    // The library's parameter is a mutable array, but it only reads it.
    return this.#lib.decode(ids as number[], {
      skip_special_tokens: options.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  createDetokenizer(options: DecodeOptions = {}): IncrementalDetokenizer {
    return new PrefixOffsetDetokenizer((ids) => this.decode(ids, options));
  }

  /** The id of a token string (e.g. a stop token such as "<|eot_id|>"), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.#lib.token_to_id(token);
  }

  /** The token string of an id, or undefined when the id is not in the vocabulary. */
  idToToken(id: number): string | undefined {
    return this.#lib.id_to_token(id);
  }

  describe(): HfTokenizerSummary {
    return {
      type: HF_TOKENIZER_SUMMARY_TYPE,
      vocab_size: this.vocabSize,
      bos_token_id: this.bosTokenId ?? null,
      eos_token_id: this.eosTokenId ?? null,
      pad_token_id: this.padTokenId ?? null,
    };
  }
}

/** Loads `dir/tokenizer.json` and, when present, `dir/tokenizer_config.json`. */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const tokenizerPath = join(dir, TOKENIZER_FILE_NAME);
  const configPath = join(dir, TOKENIZER_CONFIG_FILE_NAME);
  const json = await readJsonFile(tokenizerPath);
  const config = await readJsonFile(configPath, { optional: true });
  return HfTokenizer.fromJson(json, config, { tokenizer: tokenizerPath, config: configPath });
}

function toJsonObject(value: object | string, source: string): JsonObject {
  if (typeof value === "string") return parseJsonObject(value, source);
  if (!isJsonObject(value)) throw new TokenizerError("must be a JSON object", { source });
  return value;
}
